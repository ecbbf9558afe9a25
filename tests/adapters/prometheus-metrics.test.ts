import { expect, test } from "bun:test";
import { makePrometheusMetrics } from "../../src/adapters/prometheus/PrometheusMetrics.ts";

const idle = {
  projectionLag: 0,
  projectionReady: true,
  directoryLag: 0,
  heavyTaskQueued: 0,
  heavyTaskRunning: 0,
  heavyTaskRejected: 0,
};

const value = (text: string, series: string) =>
  Number(
    text
      .split("\n")
      .find((line) => line.startsWith(`${series} `))
      ?.slice(series.length + 1),
  );

test("a request's latency counts in every bucket at or above it, and in the sum and count", async () => {
  const metrics = makePrometheusMetrics();
  const get = { method: "GET", route: "/secure/data", status: 200 };
  metrics.requestStarted();
  metrics.requestStarted();
  metrics.requestFinished({ ...get, seconds: 0.005 });
  const halfway = await metrics.render(idle);
  expect(value(halfway, "http_requests_in_flight")).toBe(1);
  metrics.requestFinished({ ...get, seconds: 20 });
  const text = await metrics.render(idle);
  const labels = 'method="GET",route="/secure/data",status="200"';
  const bucket = (le: string) =>
    value(text, `http_request_duration_seconds_bucket{le="${le}",${labels}}`);
  expect(bucket("0.0025")).toBe(0);
  expect(bucket("0.005")).toBe(1);
  expect(bucket("10")).toBe(1);
  expect(bucket("+Inf")).toBe(2);
  expect(value(text, `http_request_duration_seconds_sum{${labels}}`)).toBeCloseTo(20.005);
  expect(value(text, `http_request_duration_seconds_count{${labels}}`)).toBe(2);
  expect(value(text, `http_requests_total{${labels}}`)).toBe(2);
  expect(value(text, "http_requests_in_flight")).toBe(0);
});

test("a method outside the known set is counted as other, so clients cannot mint series", async () => {
  const metrics = makePrometheusMetrics();
  metrics.requestFinished({ method: "BREW", route: "(unmatched)", status: 404, seconds: 0.001 });
  const text = await metrics.render(idle);
  expect(value(text, 'http_requests_total{method="other",route="(unmatched)",status="404"}')).toBe(
    1,
  );
  expect(text).not.toContain("BREW");
});

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

test("a revocation's enforcement latency counts once per event, by the path that enforced it first", async () => {
  const metrics = makePrometheusMetrics();
  const { Effect } = await import("effect");
  await Effect.runPromise(metrics.service.revocationEnforced("TokenRevoked|a", "inline", 0.004));
  await Effect.runPromise(metrics.service.revocationEnforced("TokenRevoked|a", "catch_up", 1.2));
  await Effect.runPromise(metrics.service.revocationEnforced("SessionRevoked|b", "catch_up", 0.8));
  const text = await metrics.render(idle);
  const series = (name: string, labels: string) =>
    value(text, `authlog_revocation_enforced_seconds_${name}{${labels}}`);
  expect(series("count", 'by="inline"')).toBe(1);
  expect(series("bucket", 'le="0.005",by="inline"')).toBe(1);
  expect(series("count", 'by="catch_up"')).toBe(1);
  expect(series("bucket", 'le="0.5",by="catch_up"')).toBe(0);
  expect(series("bucket", 'le="1",by="catch_up"')).toBe(1);
  expect(series("sum", 'by="catch_up"')).toBeCloseTo(0.8);
});

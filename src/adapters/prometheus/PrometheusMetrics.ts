import { Effect } from "effect";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Gauges } from "../../application/operations.ts";
import type { MetricsShape } from "../../application/ports/Metrics.ts";

export type RequestOutcome = {
  readonly method: string;
  /** The route pattern (`/admin/users/:id/events`), never the raw path: bounded cardinality. */
  readonly route: string;
  readonly status: number;
  readonly seconds: number;
};

const methods = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
const bounds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Series = {
  readonly labels: { readonly method: string; readonly route: string; readonly status: string };
  count: number;
  sum: number;
  /** Requests per bucket, not cumulative; the last one is above every bound. */
  readonly buckets: number[];
};

/**
 * `http_requests_total` and `http_request_duration_seconds` as plain counts per series, turned
 * into samples only when scraped: prom-client's own counter and histogram hash their labels
 * and validate them on every request (decision 41).
 */
const requestSeries = (registry: Registry) => {
  const series = new Map<string, Series>();
  const record = (outcome: RequestOutcome) => {
    const method = methods.has(outcome.method) ? outcome.method : "other";
    const key = `${method} ${outcome.status} ${outcome.route}`;
    let entry = series.get(key);
    if (entry === undefined) {
      entry = {
        labels: { method, route: outcome.route, status: String(outcome.status) },
        count: 0,
        sum: 0,
        buckets: new Array(bounds.length + 1).fill(0),
      };
      // Routes are patterns and methods a fixed set, so the keys are few; bounded anyway.
      if (series.size < 10_000) series.set(key, entry);
    }
    entry.count++;
    entry.sum += outcome.seconds;
    let bucket = 0;
    while (bucket < bounds.length && outcome.seconds > (bounds[bucket] ?? 0)) bucket++;
    entry.buckets[bucket] = (entry.buckets[bucket] ?? 0) + 1;
  };
  const metric = (name: string, help: string, type: string, values: () => object[]) => ({
    name,
    help,
    type,
    aggregator: "sum",
    get: () => ({ name, help, type, aggregator: "sum", values: values() }),
    reset: () => series.clear(),
  });
  const counts = metric(
    "http_requests_total",
    "HTTP requests answered, by method, route pattern and status",
    "counter",
    () => [...series.values()].map((entry) => ({ labels: entry.labels, value: entry.count })),
  );
  const latency = metric(
    "http_request_duration_seconds",
    "Time from receiving a request to having its response, by method, route and status",
    "histogram",
    () =>
      [...series.values()].flatMap((entry) => {
        let below = 0;
        const bucket = (le: string, i: number) => {
          below += entry.buckets[i] ?? 0;
          return {
            metricName: "http_request_duration_seconds_bucket",
            labels: { le, ...entry.labels },
            value: below,
          };
        };
        return [
          ...bounds.map((bound, i) => bucket(String(bound), i)),
          bucket("+Inf", bounds.length),
          {
            metricName: "http_request_duration_seconds_sum",
            labels: entry.labels,
            value: entry.sum,
          },
          {
            metricName: "http_request_duration_seconds_count",
            labels: entry.labels,
            value: entry.count,
          },
        ];
      }),
  );
  registry.registerMetric(counts as never);
  registry.registerMetric(latency as never);
  return { record };
};

export const makePrometheusMetrics = () => {
  const registry = new Registry();
  const registers = [registry];

  const requests = requestSeries(registry);
  let inFlight = 0;
  new Gauge({
    name: "http_requests_in_flight",
    help: "Requests being handled now",
    registers,
    collect() {
      this.set(inFlight);
    },
  });
  const issued = new Counter({
    name: "authlog_tokens_issued_total",
    help: "Tokens minted, by kind (access or refresh)",
    labelNames: ["kind"] as const,
    registers,
  });
  const revoked = new Counter({
    name: "authlog_tokens_revoked_total",
    help: "Revocations recorded, by what they kill: one token, one session, or all of a user's",
    labelNames: ["scope"] as const,
    registers,
  });
  const loginFailures = new Counter({
    name: "authlog_login_failures_total",
    help: "Failed logins, by reason (invalid_credentials or rate_limited)",
    labelNames: ["reason"] as const,
    registers,
  });
  const cache = new Counter({
    name: "authlog_cache_requests_total",
    help: "Heavy-task cache lookups, by result (hit or miss)",
    labelNames: ["result"] as const,
    registers,
  });
  const lag = new Gauge({
    name: "authlog_projection_lag_events",
    help: "Events in the log after the token projection's checkpoint (capped at 10000); NaN when unreadable",
    registers,
  });
  const directoryLag = new Gauge({
    name: "authlog_directory_lag_events",
    help: "Events in the log after the user directory's checkpoint (capped at 10000); NaN when unreadable",
    registers,
  });
  const projectionReady = new Gauge({
    name: "authlog_projection_ready",
    help: "1 when the token projection has followed the log since start, else 0",
    registers,
  });
  const queued = new Gauge({
    name: "authlog_heavy_task_queue_length",
    help: "Heavy-task requests waiting for a worker",
    registers,
  });
  const running = new Gauge({
    name: "authlog_heavy_task_running",
    help: "Heavy-task computations running on a worker",
    registers,
  });
  const enforced = new Histogram({
    name: "authlog_revocation_enforced_seconds",
    help: "Time from a revoking event's commit to its enforcement in the token projection, by path (inline or catch_up)",
    labelNames: ["by"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  // Catch-up re-applies what requests projected already: the first report of an event counts.
  const reported = new Set<string>();
  let rejectedSoFar = 0;
  const rejected = new Counter({
    name: "authlog_heavy_task_rejected_total",
    help: "Heavy-task requests refused because every worker and queue slot was taken",
    registers,
  });

  // Every series exists from the start, so a rate over it has no gap before the first event.
  for (const kind of ["access", "refresh"] as const) issued.inc({ kind }, 0);
  for (const scope of ["token", "session", "user"] as const) revoked.inc({ scope }, 0);
  for (const reason of ["invalid_credentials", "rate_limited"] as const) {
    loginFailures.inc({ reason }, 0);
  }
  for (const result of ["hit", "miss"] as const) cache.inc({ result }, 0);

  const service: MetricsShape = {
    tokenIssued: (kind) => Effect.sync(() => issued.inc({ kind })),
    tokensRevoked: (scope) => Effect.sync(() => revoked.inc({ scope })),
    loginFailed: (reason) => Effect.sync(() => loginFailures.inc({ reason })),
    cacheLookup: (result) => Effect.sync(() => cache.inc({ result })),
    revocationEnforced: (key, by, seconds) =>
      Effect.sync(() => {
        if (reported.has(key)) return;
        if (reported.size >= 10_000) reported.clear();
        reported.add(key);
        enforced.observe({ by }, Math.max(0, seconds));
      }),
  };

  return {
    service,
    contentType: registry.contentType as string,
    requestStarted: () => {
      inFlight++;
    },
    requestFinished: (outcome: RequestOutcome) => {
      inFlight--;
      requests.record(outcome);
    },
    render: (now: Gauges): Promise<string> => {
      lag.set(now.projectionLag ?? Number.NaN);
      projectionReady.set(now.projectionReady ? 1 : 0);
      directoryLag.set(now.directoryLag ?? Number.NaN);
      queued.set(now.heavyTaskQueued);
      running.set(now.heavyTaskRunning);
      if (now.heavyTaskRejected > rejectedSoFar) {
        rejected.inc(now.heavyTaskRejected - rejectedSoFar);
        rejectedSoFar = now.heavyTaskRejected;
      }
      return registry.metrics();
    },
  };
};

export type PrometheusMetrics = ReturnType<typeof makePrometheusMetrics>;

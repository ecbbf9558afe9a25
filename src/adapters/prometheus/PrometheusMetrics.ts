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

export const makePrometheusMetrics = () => {
  const registry = new Registry();
  const registers = [registry];

  const requests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests answered, by method, route pattern and status",
    labelNames: ["method", "route", "status"] as const,
    registers,
  });
  const latency = new Histogram({
    name: "http_request_duration_seconds",
    help: "Time from receiving a request to having its response, by method, route and status",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const inFlight = new Gauge({
    name: "http_requests_in_flight",
    help: "Requests being handled now",
    registers,
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

  // A series' child looked up once: label hashing per request costs more than the count.
  const children = new Map<
    string,
    {
      readonly count: ReturnType<typeof requests.labels>;
      readonly latency: ReturnType<typeof latency.labels>;
    }
  >();

  const service: MetricsShape = {
    tokenIssued: (kind) => Effect.sync(() => issued.inc({ kind })),
    tokensRevoked: (scope) => Effect.sync(() => revoked.inc({ scope })),
    loginFailed: (reason) => Effect.sync(() => loginFailures.inc({ reason })),
    cacheLookup: (result) => Effect.sync(() => cache.inc({ result })),
  };

  return {
    service,
    contentType: registry.contentType as string,
    requestStarted: () => inFlight.inc(),
    requestFinished: (outcome: RequestOutcome) => {
      inFlight.dec();
      const key = `${outcome.method} ${outcome.status} ${outcome.route}`;
      let series = children.get(key);
      if (series === undefined) {
        const labels = {
          method: methods.has(outcome.method) ? outcome.method : "other",
          route: outcome.route,
          status: String(outcome.status),
        };
        series = { count: requests.labels(labels), latency: latency.labels(labels) };
        // Routes are patterns and methods a fixed set, so the keys are few; bounded anyway.
        if (children.size < 10_000) children.set(key, series);
      }
      series.count.inc();
      series.latency.observe(outcome.seconds);
    },
    render: (now: Gauges): Promise<string> => {
      lag.set(now.projectionLag ?? Number.NaN);
      projectionReady.set(now.projectionReady ? 1 : 0);
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

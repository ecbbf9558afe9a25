import { Elysia } from "elysia";
import type { Logger } from "../logging/jsonLogger.ts";
import { problem } from "./problem.ts";

/** What the HTTP layer reports to a metrics backend, and how it exposes the result. */
export type RequestMetrics = {
  readonly contentType: string;
  readonly requestStarted: () => void;
  readonly requestFinished: (outcome: {
    readonly method: string;
    readonly route: string;
    readonly status: number;
    readonly seconds: number;
  }) => void;
  /** The exposition text for GET /metrics. */
  readonly render: () => Promise<string>;
};

export type ObservabilityOptions = {
  readonly log: Logger;
  /** Undefined: nothing is counted and GET /metrics answers 404. */
  readonly metrics: RequestMetrics | undefined;
  /** Origins allowed to call with credentials; empty: no CORS header is ever sent. */
  readonly corsOrigins: readonly string[];
  /** Strict-Transport-Security, for a service reached over https only. */
  readonly hsts: boolean;
};

const requestIdPattern = /^[A-Za-z0-9._:-]{1,64}$/;

// A page loads only from this origin (scripts never inline) and is never framed; a route that
// sets its own policy (the docs pages) keeps it. JSON answers may load nothing at all.
const pagePolicy = [
  "default-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");
const apiPolicy = "default-src 'none'; frame-ancestors 'none'";

const allowedMethods = "GET, POST, OPTIONS";
const allowedHeaders = "Authorization, Content-Type, X-Request-Id";
const exposedHeaders = "X-Request-Id, Retry-After, WWW-Authenticate";

type Trace = { readonly requestId: string; route: string | undefined };

const traces = new WeakMap<Request, Trace>();

/** The id this request is logged under: the client's X-Request-Id when well-formed. */
export const requestIdOf = (request: Request): string =>
  traces.get(request)?.requestId ?? crypto.randomUUID();

/**
 * Request ids, one JSON log line and the metrics of every request, security headers and CORS
 * on every response. It wraps the whole handler, so it also sees the answers that never reach a
 * route: 404s, early 413s and CORS preflights.
 */
export const observability = (options: ObservabilityOptions) => {
  const origins = new Set(options.corsOrigins);
  const cors = origins.size > 0;

  // Computed once: every response gets these, and a route may not opt out of them.
  const always: readonly (readonly [string, string])[] = [
    ["x-content-type-options", "nosniff"],
    ["x-frame-options", "DENY"],
    ["referrer-policy", "no-referrer"],
    ...(options.hsts
      ? [["strict-transport-security", "max-age=31536000; includeSubDomains"] as const]
      : []),
  ];

  const decorate = (request: Request, target: Response, requestId: string) => {
    const headers = target.headers;
    headers.set("x-request-id", requestId);
    // Routes got them from Elysia already; answers that never reached a route did not.
    if (!headers.has("x-content-type-options")) {
      for (const [name, value] of always) headers.set(name, value);
    }
    if (!headers.has("content-security-policy")) {
      const page = (headers.get("content-type") ?? "").startsWith("text/html");
      headers.set("content-security-policy", page ? pagePolicy : apiPolicy);
    }
    // Tokens and user data must never sit in a shared or browser cache.
    if (!headers.has("cache-control")) headers.set("cache-control", "no-store");
    if (cors) {
      const vary = headers.get("vary");
      headers.set("vary", vary ? `${vary}, Origin` : "Origin");
      const origin = request.headers.get("origin");
      if (origin !== null && origins.has(origin)) {
        headers.set("access-control-allow-origin", origin);
        headers.set("access-control-allow-credentials", "true");
        headers.set("access-control-expose-headers", exposedHeaders);
      }
    }
    return target;
  };

  /** The headers on the response, or on a copy when its headers are immutable (a redirect). */
  const finish = (request: Request, response: Response, requestId: string) => {
    try {
      return decorate(request, response, requestId);
    } catch {
      return decorate(request, new Response(response.body, response), requestId);
    }
  };

  const preflight = (request: Request): Response | undefined => {
    if (!cors || request.method !== "OPTIONS") return undefined;
    if (!request.headers.has("origin") || !request.headers.has("access-control-request-method")) {
      return undefined;
    }
    const response = new Response(null, { status: 204 });
    if (origins.has(request.headers.get("origin") ?? "")) {
      response.headers.set("access-control-allow-methods", allowedMethods);
      response.headers.set("access-control-allow-headers", allowedHeaders);
      response.headers.set("access-control-max-age", "600");
    }
    return response;
  };

  type Handle = (request: Request) => Response | Promise<Response>;
  const wrap = (handle: Handle, request: Request) => () => {
    const started = performance.now();
    const given = request.headers.get("x-request-id");
    const requestId = given !== null && requestIdPattern.test(given) ? given : crypto.randomUUID();
    const trace: Trace = { requestId, route: undefined };
    traces.set(request, trace);
    options.metrics?.requestStarted();
    const done = (status: number, route: string) => {
      const seconds = (performance.now() - started) / 1000;
      options.metrics?.requestFinished({ method: request.method, route, status, seconds });
      options.log("info", "request", {
        requestId,
        method: request.method,
        route,
        status,
        latencyMs: Math.round(seconds * 1e4) / 10,
      });
    };
    const answered = (response: Response, route: string) => {
      done(response.status, trace.route ?? route);
      return finish(request, response, requestId);
    };
    const failed = (error: unknown) => {
      done(500, trace.route ?? "(unmatched)");
      throw error;
    };
    // No async function here: a route that answers at once is not delayed by a microtask.
    try {
      const early = preflight(request);
      if (early) return answered(early, "(preflight)");
      const result = handle(request);
      return result instanceof Promise
        ? result.then((response) => answered(response, "(unmatched)"), failed)
        : answered(result, "(unmatched)");
    } catch (error) {
      return failed(error);
    }
  };

  return new Elysia({ name: "observability" })
    .headers(Object.fromEntries(always))
    .wrap(wrap as unknown as Parameters<Elysia["wrap"]>[0])
    .onTransform({ as: "global" }, ({ request, route }) => {
      const trace = traces.get(request);
      if (trace) trace.route = route;
    })
    .get(
      "/metrics",
      async () => {
        if (options.metrics === undefined) return problem(404, "No such route.");
        return new Response(await options.metrics.render(), {
          headers: { "content-type": options.metrics.contentType },
        });
      },
      {
        detail: {
          summary: "Prometheus metrics (off with METRICS_ENABLED=false)",
          hide: options.metrics === undefined,
          responses: {
            200: {
              description: "The Prometheus text exposition format.",
              content: { "text/plain": { schema: { type: "string" } } },
            },
          },
        },
      },
    );
};

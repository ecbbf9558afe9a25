import { Elysia, type Static, t } from "elysia";
import { type Readiness, readiness } from "../../application/health.ts";
import type { Runtime } from "./runner.ts";

const up = t.Union([t.Literal("up"), t.Literal("down")]);

const ReadinessBody = t.Object({
  ready: t.Boolean(),
  eventStore: up,
  tokenState: up,
  projection: t.Union([t.Literal("ready"), t.Literal("rebuilding"), t.Literal("starting")]),
  directory: t.Union([t.Literal("ready"), t.Literal("rebuilding"), t.Literal("starting")]),
});

// The model drops any field it does not name: a field added to Readiness must be added here.
const _sameShape: [Static<typeof ReadinessBody>, Readiness] extends [
  Readiness,
  Static<typeof ReadinessBody>,
]
  ? true
  : never = true;

export const health = (runtime: Runtime) =>
  new Elysia({ name: "health" })
    .get("/health/live", () => ({ status: "ok" as const }), {
      response: { 200: t.Object({ status: t.Literal("ok") }) },
      detail: { summary: "The process is up" },
    })
    .get(
      "/health/ready",
      async ({ set }) => {
        const report = await runtime.runPromise(readiness);
        set.status = report.ready ? 200 : 503;
        return report;
      },
      {
        response: { 200: ReadinessBody, 503: ReadinessBody },
        detail: {
          summary: "Whether this instance can take traffic",
          responses: {
            200: { description: "Ready." },
            503: { description: "Not ready: the fields say which dependency is down." },
          },
        },
      },
    );

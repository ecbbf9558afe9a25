import type { ManagedRuntime } from "effect";
import { Elysia } from "elysia";
import { readiness } from "../../application/health.ts";
import type { AppServices } from "../../application/services.ts";

export const health = (runtime: ManagedRuntime.ManagedRuntime<AppServices, never>) =>
  new Elysia({ name: "health" })
    .get("/health/live", () => ({ status: "ok" }), { detail: { summary: "The process is up" } })
    .get(
      "/health/ready",
      async ({ set }) => {
        const report = await runtime.runPromise(readiness);
        set.status = report.ready ? 200 : 503;
        return report;
      },
      { detail: { summary: "Whether this instance can take traffic" } },
    );

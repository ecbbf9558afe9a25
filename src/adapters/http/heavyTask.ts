import { Effect, type ManagedRuntime } from "effect";
import { Elysia, t } from "elysia";
import { heavyTask } from "../../application/heavyTask.ts";
import type { AccessClaims } from "../../application/ports/Tokens.ts";
import type { AppServices } from "../../application/services.ts";
import { type Logger, settle } from "./errors.ts";
import { problem } from "./problem.ts";
import { bearer, problems, tokenProblems } from "./schemas.ts";

export type HeavyTaskOptions = {
  readonly runtime: ManagedRuntime.ManagedRuntime<AppServices, never>;
  /** The app's bearer-token guard: the claims, or it throws the 401/503 answer. */
  readonly principal: (authorization: string | undefined) => Promise<AccessClaims>;
  readonly log: Logger;
  readonly maxN: number;
};

const decimal = /^(?:0|[1-9][0-9]{0,15})$/;

export const heavyTaskRoutes = (options: HeavyTaskOptions) => {
  const rule = `an integer from 0 to ${options.maxN}, in decimal digits`;
  const invalid = () =>
    problem(422, "The request has invalid fields.", {
      extra: { errors: [{ field: "n", message: rule }] },
    });

  const rejected = new WeakSet<Request>();

  return new Elysia().get(
    "/secure/heavy-task",
    async ({ query }) => {
      const exit = await options.runtime.runPromiseExit(
        heavyTask(query.n).pipe(
          Effect.catchTag("ComputerSaturated", (busy) =>
            Effect.succeed(
              problem(503, "Every worker is busy. Retry shortly.", {
                headers: { "retry-after": String(busy.retryAfterSeconds) },
              }),
            ),
          ),
        ),
      );
      return settle(exit, options.log);
    },
    {
      query: t.Object({
        n: t.Integer({ minimum: 0, maximum: options.maxN, description: `0..${options.maxN}` }),
      }),
      // Runs before the schema check, which coerces with Number() and so takes "0x10", " 5",
      // "+5" or "1e3", and names no field in a range error. A rejected n is swapped for one
      // the schema accepts, and beforeHandle answers with the one 422 for every bad n.
      transform: ({ request, query }) => {
        const given = new URL(request.url).searchParams.getAll("n");
        const raw = given.length === 1 ? (given[0] ?? "") : "";
        if (decimal.test(raw) && Number(raw) <= options.maxN) return;
        rejected.add(request);
        (query as Record<string, unknown>).n = "0";
      },
      // The token first: without a valid one, nothing about the request is worth an answer.
      beforeHandle: async ({ request, headers }) => {
        await options.principal(headers.authorization);
        return rejected.has(request) ? invalid() : undefined;
      },
      response: {
        200: t.Object({
          n: t.Integer({ minimum: 0, maximum: options.maxN }),
          result: t.String({ pattern: "^[0-9]+$", description: "F(n) in decimal" }),
          cached: t.Boolean(),
        }),
        ...problems({
          ...tokenProblems,
          422: `n is not ${rule}.`,
          503: "Every worker is busy (see Retry-After), or tokens cannot be checked.",
        }),
      },
      detail: {
        summary: "Fibonacci F(n), exact, computed off the event loop and cached",
        description:
          "F(0) = 0, F(1) = 1. Computed by a bounded worker pool (503 with Retry-After when it is full) and cached for CACHE_TTL_SECONDS; `cached` says whether this answer came from the cache.",
        security: bearer,
        responses: { 200: { description: "F(n)" } },
      },
    },
  );
};

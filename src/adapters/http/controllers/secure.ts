import { Elysia, t } from "elysia";
import { heavyTask } from "../../../application/heavyTask.ts";
import { invalidFields } from "../errors.ts";
import { bearer, problems, SecureData, tokenProblems } from "../schemas.ts";
import type { Deps } from "./deps.ts";

const decimal = /^(?:0|[1-9][0-9]{0,15})$/;

export const secureController = ({ run, guard }: Deps, maxN: number) => {
  const rule = `an integer from 0 to ${maxN}, in decimal digits`;
  const invalid = () => invalidFields([{ field: "n", message: rule }]);
  const rejected = new WeakSet<Request>();

  return new Elysia({ name: "secure-controller" })
    .use(guard)
    .get(
      "/secure/data",
      ({ principal }) => ({
        message: `Hello, ${principal.username}.`,
        user: { id: principal.sub, username: principal.username, role: principal.role },
      }),
      {
        role: "any",
        response: { 200: SecureData, ...problems(tokenProblems) },
        detail: {
          summary: "A protected resource",
          security: bearer,
          responses: { 200: { description: "A greeting naming the caller." } },
        },
      },
    )
    .get(
      "/secure/heavy-task",
      // The token is checked first: without a valid one, nothing else is worth an answer.
      ({ query, request }) =>
        rejected.has(request) ? invalid() : run(heavyTask(query.n), (r) => r),
      {
        role: "any",
        query: t.Object({
          n: t.Integer({ minimum: 0, maximum: maxN, description: `0..${maxN}` }),
        }),
        // Before the schema, whose Number() coercion takes "0x10", " 5" or "1e3": a bad n is
        // swapped for one the schema accepts, and the handler answers the one 422 for all.
        transform: ({ request, query }) => {
          const given = new URL(request.url).searchParams.getAll("n");
          const raw = given.length === 1 ? (given[0] ?? "") : "";
          if (decimal.test(raw) && Number(raw) <= maxN) return;
          rejected.add(request);
          (query as Record<string, unknown>).n = "0";
        },
        response: {
          200: t.Object({
            n: t.Integer({ minimum: 0, maximum: maxN }),
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

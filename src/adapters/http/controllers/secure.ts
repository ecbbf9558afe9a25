import { Elysia, t } from "elysia";
import { heavyTask } from "../../../application/heavyTask.ts";
import { invalidFields } from "../errors.ts";
import { bearer, problems, SecureData, tokenProblems } from "../schemas.ts";
import type { Deps } from "./deps.ts";

const digitRange = (low: number, high: number) => (low === high ? `${low}` : `[${low}-${high}]`);

/**
 * A pattern for 0..max in decimal digits, no sign, no leading zero: shorter numbers, then for
 * each digit of max, max's digits before it, a smaller digit, and any digits after.
 */
const decimalUpTo = (max: number): string => {
  const digits = String(max);
  const alternatives = ["0"];
  if (digits.length > 1) {
    alternatives.push(digits.length === 2 ? "[1-9]" : `[1-9][0-9]{0,${digits.length - 2}}`);
  }
  for (let i = 0; i < digits.length; i++) {
    const digit = Number(digits[i]);
    const low = i === 0 ? 1 : 0;
    const after = digits.length - i - 1;
    if (digit > low) {
      alternatives.push(
        `${digits.slice(0, i)}${digitRange(low, digit - 1)}${after === 0 ? "" : `[0-9]{${after}}`}`,
      );
    }
  }
  alternatives.push(digits);
  return `^(?:${[...new Set(alternatives)].join("|")})$`;
};

export const secureController = ({ run, guard }: Deps, maxN: number) => {
  const rule = `an integer from 0 to ${maxN}, in decimal digits`;
  const pattern = decimalUpTo(maxN);
  const accepted = new RegExp(pattern);
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
        rejected.has(request) ? invalid() : run(heavyTask(Number(query.n)), (r) => r),
      {
        role: "any",
        // A string of digits, not an integer: a JSON Schema integer would also take "1e3",
        // "5.0" or "+5", and the document is to say exactly what this route takes.
        query: t.Object({
          n: t.String({ pattern, description: rule, examples: ["30"] }),
        }),
        // Before the schema, whose own 422 would quote the pattern: a bad or repeated n is
        // swapped for one the schema accepts, and the handler answers the one 422 for all.
        transform: ({ request, query }) => {
          const given = new URL(request.url).searchParams.getAll("n");
          const raw = given.length === 1 ? (given[0] ?? "") : "";
          if (accepted.test(raw)) return;
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

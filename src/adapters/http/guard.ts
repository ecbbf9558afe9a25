import { Elysia } from "elysia";
import { Authenticator, isRefusal } from "../../application/Authenticator.ts";
import { RoleRequired } from "../../application/errors.ts";
import type { AccessClaims } from "../../application/ports/Tokens.ts";
import type { Role } from "../../domain/Role.ts";
import { toProblem } from "./errors.ts";
import { problem } from "./problem.ts";
import type { Runtime } from "./runner.ts";

// RFC 6750 and 7235: the scheme is case-insensitive, and more than one space may follow it.
const bearerPattern = /^bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

/** The token of an `Authorization: Bearer` header, or undefined. */
export const bearerToken = (authorization: string | undefined) =>
  authorization === undefined ? undefined : bearerPattern.exec(authorization)?.[1];

const noToken = () => problem(401, "A bearer access token is required.");

/**
 * Routes opt in with `{ role: "any" }` (a live access token) or `{ role: "admin" }`; the
 * handler gets `principal`, or the request is answered with 401, 403 or 503 before it runs.
 */
export const guard = (runtime: Runtime) => {
  // Resolved once, on first use, after the runtime has built its layers.
  let check: Authenticator["Service"]["check"] | undefined;
  const principal = async (authorization: string | undefined): Promise<AccessClaims | Response> => {
    const token = bearerToken(authorization);
    if (!token) return noToken();
    check ??= (await runtime.runPromise(Authenticator)).check;
    const outcome = await check(token);
    return isRefusal(outcome) ? toProblem(outcome) : outcome;
  };

  return new Elysia({ name: "guard" }).macro({
    role: (needed: Role | "any") => ({
      // request.headers, not `headers`: naming that builds an object of every header.
      async resolve({ request, status }) {
        const claims = await principal(request.headers.get("authorization") ?? undefined);
        if (claims instanceof Response) return status(claims.status as 401, claims);
        if (needed !== "any" && claims.role !== needed) {
          return status(403, toProblem(new RoleRequired({ role: needed })));
        }
        return { principal: claims };
      },
    }),
  });
};

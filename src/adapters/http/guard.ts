import { Elysia } from "elysia";
import { Authenticator, isRefusal } from "../../application/Authenticator.ts";
import { RoleRequired } from "../../application/errors.ts";
import type { AccessClaims } from "../../application/ports/Tokens.ts";
import type { Role } from "../../domain/Role.ts";
import { Refused, toProblem } from "./errors.ts";
import { problem } from "./problem.ts";
import type { Runtime } from "./runner.ts";

// RFC 6750 and 7235: the scheme is case-insensitive, and more than one space may follow it.
const bearerPattern = /^bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

/** The token of an `Authorization: Bearer` header, or undefined. */
export const bearerToken = (authorization: string | undefined) =>
  authorization === undefined ? undefined : bearerPattern.exec(authorization)?.[1];

type Checked = { checked: AccessClaims };

const noToken = () => problem(401, "A bearer access token is required.");

/**
 * Routes opt in with `{ role: "any" }` (a live access token) or `{ role: "admin" }`; the
 * handler gets `principal`, or the request is answered with 401, 403 or 503 before its input
 * is validated.
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
      // Before the route's schemas run: a caller without a valid token learns nothing of them.
      async transform(context) {
        // request.headers, not `headers`: naming that builds an object of every header.
        const claims = await principal(context.request.headers.get("authorization") ?? undefined);
        if (claims instanceof Response) throw new Refused(claims);
        if (needed !== "any" && claims.role !== needed) {
          throw new Refused(toProblem(new RoleRequired({ role: needed })));
        }
        (context as unknown as Checked).checked = claims;
      },
      resolve: (context) => ({ principal: (context as unknown as Checked).checked }),
    }),
  });
};

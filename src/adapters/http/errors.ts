import { Cause, Exit } from "effect";
import { Elysia } from "elysia";
import type { AppError } from "../../application/errors.ts";
import type { Logger } from "../logging/jsonLogger.ts";
import { problem, realm } from "./problem.ts";

const invalidToken = { "www-authenticate": `${realm}, error="invalid_token"` };

export const invalidFields = (errors: readonly { field: string; message: string }[]) =>
  problem(422, "The request has invalid fields.", { extra: { errors } });

export const tooLarge = () => problem(413, "The body is too large.");

const stateDown = "Token revocation state cannot be checked or written right now. Retry shortly.";

/** The one table from an application error to its HTTP answer. */
export const toProblem = (error: AppError): Response => {
  switch (error._tag) {
    case "ValidationFailed":
      return invalidFields(error.fields.map((f) => ({ field: f.name, message: f.rule })));
    case "UsernameTaken":
      return problem(409, "That username is taken.");
    case "InvalidCredentials":
      return problem(401, "Invalid username or password.");
    case "TokenRejected":
      return problem(401, "The token is missing, invalid, expired or revoked.", {
        headers: invalidToken,
      });
    case "RefreshTokenReused":
      return problem(401, "The refresh token was already used: its whole session is revoked.", {
        headers: invalidToken,
      });
    case "RoleRequired":
      return problem(403, "This needs a role the caller does not have.");
    case "UserNotFound":
      return problem(404, "No such user.");
    case "LastAdmin":
      return problem(409, "That would leave no admin: promote another user first.");
    case "AccountChanged":
      return problem(409, "The account was changed meanwhile by another request.");
    case "Contended":
      return problem(409, "Too many changes to this account at once; retry shortly.", {
        headers: { "retry-after": "1" },
      });
    case "RateLimited":
      return problem(429, "Too many attempts. Retry later.", {
        headers: { "retry-after": String(error.retryAfterSeconds) },
      });
    case "StoreUnavailable":
      return problem(503, "The event store did not answer in time. Retry shortly.");
    case "TokenStateUnavailable":
      return problem(503, stateDown);
    case "ProjectionIncomplete":
      return problem(503, "The token projection is being rebuilt. Retry shortly.");
    case "ProjectionBehind":
      return problem(503, stateDown, { extra: { committed: true } });
    case "RateLimiterUnavailable":
      return problem(
        503,
        "Attempt limits cannot be checked right now, so nothing was tried. Retry shortly.",
      );
    case "ComputerSaturated":
      return problem(503, "Every worker is busy. Retry shortly.", {
        headers: { "retry-after": String(error.retryAfterSeconds) },
      });
  }
};

const serverFault = () => problem(500, "The server failed to handle the request.");

/** The answer for a finished use case: `ok` of its value, or the problem of its failure. */
export const answer = <A, B>(exit: Exit.Exit<A, AppError>, ok: (value: A) => B, log: Logger) => {
  if (Exit.isSuccess(exit)) return ok(exit.value);
  const failure = exit.cause.reasons.find(Cause.isFailReason);
  if (failure) return toProblem(failure.error);
  // Interrupted: the process is shutting down under this request.
  if (Cause.hasInterruptsOnly(exit.cause)) return problem(503, "The server is shutting down.");
  log("error", "unexpected failure", { cause: Cause.pretty(exit.cause) });
  return serverFault();
};

/** A request refused before any route ran (body too large, wrong media type, bad JSON). */
export class Refused extends Error {
  constructor(readonly response: Response) {
    super(`refused with ${response.status}`);
  }
}

const validationErrors = (error: unknown): { field: string; message: string }[] => {
  const all = (error as { all?: { path?: string; message?: string }[] }).all;
  if (!Array.isArray(all)) return [{ field: "body", message: "invalid" }];
  const seen = new Map<string, string>();
  for (const issue of all) {
    const field = (issue.path ?? "").replace(/^\//, "").replaceAll("/", ".") || "body";
    if (!seen.has(field)) seen.set(field, issue.message ?? "invalid");
  }
  return [...seen].map(([field, message]) => ({ field, message }));
};

/** Elysia's own errors as problem+json; never a submitted value echoed, never a stack. */
export const problemErrors = (log: Logger) =>
  new Elysia({ name: "problem-errors" }).onError({ as: "global" }, ({ code, error, set }) => {
    if (error instanceof Refused) return error.response;
    // Elysia wraps what a parser throws in its own ParseError.
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof Refused) return cause.response;
    switch (code) {
      case "VALIDATION":
        // A body that breaks its own response model is this server's bug, not the client's.
        if (error.type === "response") {
          log("error", "response does not match its model", { errors: validationErrors(error) });
          return serverFault();
        }
        // Elysia's own 422 echoes submitted values, passwords included: name the fields only.
        return invalidFields(validationErrors(error));
      case "PARSE":
        return problem(400, "The body could not be parsed.");
      case "NOT_FOUND":
        return problem(404, "No such route.");
      case "INVALID_COOKIE_SIGNATURE":
        return problem(401, "Invalid cookie.");
      default:
        if (set.status === 413) return tooLarge();
        log("error", "unhandled error", { code, error: String(error) });
        return serverFault();
    }
  });

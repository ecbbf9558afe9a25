import { Cause, Exit } from "effect";
import type {
  Conflict,
  Contended,
  Forbidden,
  InvalidCredentials,
  NotFound,
  RateLimited,
  Unauthorized,
  Unavailable,
  UsernameTaken,
  ValidationFailed,
} from "../../application/errors.ts";
import { problem, realm } from "./problem.ts";

export type AppError =
  | ValidationFailed
  | UsernameTaken
  | InvalidCredentials
  | Unauthorized
  | Forbidden
  | NotFound
  | Conflict
  | Contended
  | RateLimited
  | Unavailable;

const unavailableDetail = {
  "event-store": "The event store is unreachable; nothing was changed. Retry shortly.",
  "token-state": "Token revocation state cannot be checked or written right now. Retry shortly.",
  projection: "The token projection is being rebuilt. Retry shortly.",
  "rate-limiter":
    "Attempt limits cannot be checked right now, so nothing was tried. Retry shortly.",
} as const;

/** One place that turns an application error into its HTTP answer. */
export const toResponse = (error: AppError): Response => {
  switch (error._tag) {
    case "ValidationFailed":
      return problem(422, "The request has invalid fields.", {
        extra: { errors: error.fields.map((f) => ({ field: f.name, message: f.rule })) },
      });
    case "UsernameTaken":
      return problem(409, "That username is taken.");
    case "InvalidCredentials":
      return problem(401, "Invalid username or password.");
    case "Unauthorized":
      return problem(401, "The token is missing, invalid, expired or revoked.", {
        headers: { "www-authenticate": `${realm}, error="invalid_token"` },
      });
    case "Forbidden":
      return problem(403, "This needs a role the caller does not have.");
    case "NotFound":
      return problem(404, `No such ${error.what}.`);
    case "Conflict":
      return problem(409, error.detail);
    case "Contended":
      return problem(409, "Too many changes to this account at once; retry shortly.", {
        headers: { "retry-after": "1" },
      });
    case "RateLimited":
      return problem(429, "Too many attempts. Retry later.", {
        headers: { "retry-after": String(error.retryAfterSeconds) },
      });
    case "Unavailable":
      return problem(503, unavailableDetail[error.dependency], {
        extra: error.committed ? { committed: true } : {},
      });
  }
};

export type Logger = (level: "error" | "warn" | "info", message: string, fields?: object) => void;

/** The value, or the Response a failure maps to; defects become a bare 500 and a log line. */
export const settle = <A>(exit: Exit.Exit<A, AppError>, log: Logger): A | Response => {
  if (Exit.isSuccess(exit)) return exit.value;
  const failure = exit.cause.reasons.find(Cause.isFailReason);
  if (failure) return toResponse(failure.error);
  // Interrupted: the process is shutting down under this request.
  if (Cause.hasInterruptsOnly(exit.cause)) return problem(503, "The server is shutting down.");
  log("error", "unexpected failure", { cause: Cause.pretty(exit.cause) });
  return problem(500, "The server failed to handle the request.");
};

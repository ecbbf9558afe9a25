import { Cause, Exit } from "effect";
import { Elysia } from "elysia";
import type { AppError } from "../../application/errors.ts";
import { type Explanation, unexplained } from "../../application/explain.ts";
import type { Logger } from "../logging/jsonLogger.ts";
import { basicRealm, problem, realm } from "./problem.ts";

/** RFC 6750 3: the refusal's code as the error description, and in the body (decision 46). */
const refusedToken = (explanation: Explanation = unexplained) => ({
  headers: {
    "www-authenticate": `${realm}, error="invalid_token", error_description="${explanation.code}"`,
  },
  extra: {
    code: explanation.code,
    ...(explanation.revokedAt ? { revoked_at: explanation.revokedAt.toISOString() } : {}),
  },
});

const invalidDetail = "The request has invalid fields.";

export const invalidFields = (errors: readonly { field: string; message: string }[]) =>
  problem(422, invalidDetail, { extra: { errors } });

export const tooLarge = () => problem(413, "The body is too large.");

const stateDown = "Token revocation state cannot be checked or written right now. Retry shortly.";

/** What an application error means in HTTP, before a route renders it. */
export type Meaning = {
  readonly status: number;
  readonly detail: string;
  readonly headers?: Record<string, string> | undefined;
  readonly extra?: Record<string, unknown> | undefined;
};

/** The one table from an application error to its HTTP meaning. */
export const meaningOf = (error: AppError): Meaning => {
  switch (error._tag) {
    case "ValidationFailed":
      return {
        status: 422,
        detail: invalidDetail,
        extra: { errors: error.fields.map((f) => ({ field: f.name, message: f.rule })) },
      };
    case "UsernameTaken":
      return { status: 409, detail: "That username is taken." };
    case "InvalidCredentials":
      return { status: 401, detail: "Invalid username or password." };
    case "TokenRejected":
      return {
        status: 401,
        detail: "The token is missing, invalid, expired or revoked.",
        ...refusedToken(error.explanation),
      };
    case "RefreshTokenReused":
      return {
        status: 401,
        detail: "The refresh token was already used: its whole session is revoked.",
        ...refusedToken(error.explanation ?? { code: "refresh_token_reused" }),
      };
    case "RoleRequired":
      return { status: 403, detail: "This needs a role the caller does not have." };
    case "UserNotFound":
      return { status: 404, detail: "No such user." };
    case "ClientNotFound":
      return { status: 404, detail: "No such client." };
    case "InvalidClient":
      return {
        status: 401,
        detail: "Client authentication failed: send a registered client's id and secret.",
        headers: { "www-authenticate": basicRealm },
        extra: { error: "invalid_client" },
      };
    case "LastAdmin":
      return { status: 409, detail: "That would leave no admin: promote another user first." };
    case "AccountDisabled":
      return {
        status: 403,
        detail: "This account is disabled.",
        extra: { code: "account_disabled" },
      };
    case "SessionNotFound":
      return { status: 404, detail: "No such session." };
    case "DirectoryUnavailable":
      return { status: 503, detail: "The user directory cannot be read right now. Retry shortly." };
    case "AccountChanged":
      return { status: 409, detail: "The account was changed meanwhile by another request." };
    case "SigningKeyNotFound":
      return { status: 404, detail: "No signing key has that kid." };
    case "KeysNotManaged":
      return {
        status: 409,
        detail:
          "ALGORITHM is HS256: tokens are signed with JWT_SECRET, there are no keys to change.",
      };
    case "Contended":
      return {
        status: 409,
        detail: "Too many changes to this account at once; retry shortly.",
        headers: { "retry-after": "1" },
      };
    case "RateLimited":
      return {
        status: 429,
        detail: "Too many attempts. Retry later.",
        headers: { "retry-after": String(error.retryAfterSeconds) },
      };
    case "StoreUnavailable":
      return { status: 503, detail: "The event store did not answer in time. Retry shortly." };
    case "TokenStateUnavailable":
      return { status: 503, detail: stateDown };
    case "ProjectionIncomplete":
      return { status: 503, detail: "The token projection is being rebuilt. Retry shortly." };
    case "ProjectionBehind":
      return { status: 503, detail: stateDown, extra: { committed: true } };
    case "RateLimiterUnavailable":
      return {
        status: 503,
        detail: "Attempt limits cannot be checked right now, so nothing was tried. Retry shortly.",
      };
    case "ComputerSaturated":
      return {
        status: 503,
        detail: "Every worker is busy. Retry shortly.",
        headers: { "retry-after": String(error.retryAfterSeconds) },
      };
  }
};

export const toProblem = (error: AppError): Response => {
  const { status, detail, ...options } = meaningOf(error);
  return problem(status, detail, options);
};

const serverFaultDetail = "The server failed to handle the request.";

const serverFault = () => problem(500, serverFaultDetail);

/** How a route words its failures: an application error, or a fault of the server's own. */
export type Answers = {
  readonly failure: (error: AppError) => Response;
  readonly fault: (status: 500 | 503, detail: string) => Response;
};

export const problemAnswers: Answers = {
  failure: toProblem,
  fault: (status, detail) => problem(status, detail),
};

/** The answer for a finished use case: `ok` of its value, or the problem of its failure. */
export const answer = <A, B>(
  exit: Exit.Exit<A, AppError>,
  ok: (value: A) => B,
  log: Logger,
  answers: Answers = problemAnswers,
) => {
  if (Exit.isSuccess(exit)) return ok(exit.value);
  const failure = exit.cause.reasons.find(Cause.isFailReason);
  if (failure) return answers.failure(failure.error);
  // Interrupted: the process is shutting down under this request.
  if (Cause.hasInterruptsOnly(exit.cause))
    return answers.fault(503, "The server is shutting down.");
  log("error", "unexpected failure", { cause: Cause.pretty(exit.cause) });
  return answers.fault(500, serverFaultDetail);
};

/** A request refused before any route ran (body too large, wrong media type, bad JSON). */
export class Refused extends Error {
  constructor(readonly response: Response) {
    super(`refused with ${response.status}`);
  }
}

type Issue = {
  readonly path?: string;
  readonly message?: string;
  readonly value?: unknown;
  readonly schema?: Schema;
};

export type Schema = {
  readonly type?: string;
  readonly description?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
};

const kinds: Record<string, string> = {
  string: "a string",
  integer: "an integer",
  number: "a number",
  boolean: "true or false",
  object: "an object",
  array: "a list",
};

/**
 * What the field must be, in the words the domain rules use ("8 to 128 characters"), not the
 * schema library's ("Expected string").
 */
export const expectation = ({ value, schema = {}, message }: Issue): string => {
  const kind = schema.type === undefined ? undefined : kinds[schema.type];
  if (value === undefined) return kind ? `required: ${kind}` : "required";
  if (schema.type === "string" && typeof value === "string") {
    if (schema.maxLength !== undefined && value.length > schema.maxLength) {
      return `at most ${schema.maxLength} characters`;
    }
    if (schema.minLength !== undefined && value.length < schema.minLength) {
      return `at least ${schema.minLength} characters`;
    }
    return schema.description ?? "not in the expected form";
  }
  return kind ?? message ?? "invalid";
};

/** Schema issues by field, the first of each; a value is never echoed. */
export const fieldErrors = (issues: Iterable<Issue>): { field: string; message: string }[] => {
  const seen = new Map<string, string>();
  for (const issue of issues) {
    const field = (issue.path ?? "").replace(/^\//, "").replaceAll("/", ".") || "body";
    if (!seen.has(field)) seen.set(field, expectation(issue));
  }
  return [...seen].map(([field, message]) => ({ field, message }));
};

const validationErrors = (error: unknown) => {
  const all = (error as { all?: Issue[] }).all;
  return Array.isArray(all) ? fieldErrors(all) : [{ field: "body", message: "invalid" }];
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

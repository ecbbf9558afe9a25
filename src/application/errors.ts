import { Data } from "effect";

/** A field of the input broke a rule; `fields` names each and the rule, never the value. */
export class ValidationFailed extends Data.TaggedError("ValidationFailed")<{
  readonly fields: readonly { readonly name: string; readonly rule: string }[];
}> {}

export class UsernameTaken extends Data.TaggedError("UsernameTaken") {}

/** Same answer for an unknown user and a wrong password. */
export class InvalidCredentials extends Data.TaggedError("InvalidCredentials") {}

/** The token is missing, malformed, expired or revoked; `reason` is for logs only. */
export class Unauthorized extends Data.TaggedError("Unauthorized")<{ readonly reason: string }> {}

export class Forbidden extends Data.TaggedError("Forbidden") {}

export class NotFound extends Data.TaggedError("NotFound")<{ readonly what: string }> {}

/** The request conflicted with the current state (e.g. the last admin's role). */
export class Conflict extends Data.TaggedError("Conflict")<{ readonly detail: string }> {}

/** So many concurrent changes hit the same account that this one kept losing the race. */
export class Contended extends Data.TaggedError("Contended") {}

/** Too many attempts; retry after `retryAfterSeconds`. */
export class RateLimited extends Data.TaggedError("RateLimited")<{
  readonly retryAfterSeconds: number;
}> {}

/**
 * A dependency is down or behind (event store, token projection). The request changed nothing
 * the client can rely on, except where `committed` says the event is in the log and a
 * catch-up will finish the work.
 */
export class Unavailable extends Data.TaggedError("Unavailable")<{
  readonly dependency: "event-store" | "token-state" | "projection" | "rate-limiter";
  readonly committed?: boolean;
}> {}

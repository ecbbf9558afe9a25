import { Data } from "effect";
import type { Role } from "../domain/Role.ts";
import type { Explanation } from "./explain.ts";
import type { DirectoryUnavailable } from "./ports/Directory.ts";
import type { StoreUnavailable } from "./ports/EventStore.ts";
import type { ComputerSaturated } from "./ports/FibonacciComputer.ts";
import type { RateLimiterUnavailable } from "./ports/RateLimiter.ts";
import type { TokenStateUnavailable } from "./ports/TokenState.ts";

/** A field of the input broke a rule; `fields` names each and the rule, never the value. */
export class ValidationFailed extends Data.TaggedError("ValidationFailed")<{
  readonly fields: readonly { readonly name: string; readonly rule: string }[];
}> {}

export class UsernameTaken extends Data.TaggedError("UsernameTaken") {}

/** Same answer for an unknown user and a wrong password. */
export class InvalidCredentials extends Data.TaggedError("InvalidCredentials") {}

/**
 * The token is malformed, expired, revoked or outdated, or names no user; `reason` is for logs,
 * `explanation` for the client (decision 46).
 */
export class TokenRejected extends Data.TaggedError("TokenRejected")<{
  readonly reason: string;
  readonly explanation?: Explanation;
}> {}

export class RefreshTokenReused extends Data.TaggedError("RefreshTokenReused")<{
  readonly explanation?: Explanation;
}> {}

export class RoleRequired extends Data.TaggedError("RoleRequired")<{ readonly role: Role }> {}

export class UserNotFound extends Data.TaggedError("UserNotFound") {}

export class ClientNotFound extends Data.TaggedError("ClientNotFound") {}

/** Unknown, revoked, or the wrong secret: one answer for all three. */
export class InvalidClient extends Data.TaggedError("InvalidClient") {}

/** The password was right, but the account is disabled. */
export class AccountDisabled extends Data.TaggedError("AccountDisabled") {}

/** Not one of the caller's live sessions: unknown, ended, or another user's. */
export class SessionNotFound extends Data.TaggedError("SessionNotFound") {}

export class LastAdmin extends Data.TaggedError("LastAdmin") {}

/** Another request changed the account (password, epoch) after this one's token was issued. */
export class AccountChanged extends Data.TaggedError("AccountChanged") {}

/** No signing key has that kid. */
export class SigningKeyNotFound extends Data.TaggedError("SigningKeyNotFound") {}

/** ALGORITHM is HS256: tokens are signed with the shared secret, there is no key ring to change. */
export class KeysNotManaged extends Data.TaggedError("KeysNotManaged") {}

export class Contended extends Data.TaggedError("Contended") {}

export class RateLimited extends Data.TaggedError("RateLimited")<{
  readonly retryAfterSeconds: number;
}> {}

/** The token projection is being rebuilt, or misses what the log holds: it cannot answer yet. */
export class ProjectionIncomplete extends Data.TaggedError("ProjectionIncomplete") {}

/** In the log, not yet in the token projection (catch-up will apply it): do not report success. */
export class ProjectionBehind extends Data.TaggedError("ProjectionBehind") {}

export type AppError =
  | ValidationFailed
  | UsernameTaken
  | InvalidCredentials
  | TokenRejected
  | RefreshTokenReused
  | RoleRequired
  | UserNotFound
  | ClientNotFound
  | InvalidClient
  | LastAdmin
  | AccountDisabled
  | SessionNotFound
  | DirectoryUnavailable
  | AccountChanged
  | SigningKeyNotFound
  | KeysNotManaged
  | Contended
  | RateLimited
  | ProjectionIncomplete
  | ProjectionBehind
  | StoreUnavailable
  | TokenStateUnavailable
  | RateLimiterUnavailable
  | ComputerSaturated;

import { keysStream } from "../domain/keys/SigningKeyEvents.ts";
import { sessionStream } from "../domain/session/SessionEvents.ts";
import { userStream } from "../domain/user/UserEvents.ts";
import type { RecordedEvent } from "./ports/EventStore.ts";
import type { Examined } from "./ports/Tokens.ts";

/** Why a token is refused, as a 401 and an inspection name it (decision 46). */
export type RefusalCode =
  | "token_revoked"
  | "session_revoked"
  | "signed_out_everywhere"
  | "role_changed"
  | "password_changed"
  | "account_disabled"
  | "key_revoked"
  | "refresh_token_reused"
  | "token_expired"
  | "token_not_yet_valid"
  | "invalid_token";

/** What a refusal answers: `revokedAt` is the commit time of the event that caused it. */
export type Explanation = { readonly code: RefusalCode; readonly revokedAt?: Date };

export const unexplained: Explanation = { code: "invalid_token" };

/**
 * The code of each user event that moves the epoch past a token's. An event type that moves
 * the epoch gets its line here.
 */
export const epochCodes: Readonly<Record<string, RefusalCode>> = {
  RoleChanged: "role_changed",
  PasswordChanged: "password_changed",
  AllSessionsRevoked: "signed_out_everywhere",
  UserDisabled: "account_disabled",
  // An erased account is gone for good; of the codes a client knows, this one says so.
  UserErased: "account_disabled",
};

export type Verdict = {
  readonly valid: boolean;
  readonly code: RefusalCode | null;
  readonly cause: RecordedEvent | null;
};

/** Seconds of clock skew tolerated for iat, as the verifiers do. */
const skew = 5;

/**
 * What a token's verdict is folded from: the events that can refuse it, and its user's
 * registration. A revocation whose token or session expired by then cannot refuse a token
 * valid then: an access token expires with its session at the latest.
 */
export const judgedEvents = (atMs: number) => ({
  types: [
    "UserRegistered",
    "TokenRevoked",
    ...Object.keys(epochCodes),
    "SessionRevoked",
    "SigningKeyRevoked",
  ],
  liveAt: atMs,
});

/** The streams whose events decide a token: its user's, its session's and the key ring's. */
export const streamsOf = (examined: Examined): readonly string[] => [
  userStream(examined.claims.sub),
  sessionStream(examined.claims.sid),
  keysStream,
];

const field = (data: unknown, name: string): unknown =>
  typeof data === "object" && data !== null ? (data as Record<string, unknown>)[name] : undefined;

const causeOf = (event: RecordedEvent, examined: Examined): RefusalCode | null => {
  const { claims, kid } = examined;
  const { streamId, type, data } = event;
  if (streamId === userStream(claims.sub)) {
    if (type === "TokenRevoked") {
      return field(data, "tokenId") === claims.jti ? "token_revoked" : null;
    }
    const epoch = field(data, "epoch");
    return typeof epoch === "number" && epoch > claims.epoch ? (epochCodes[type] ?? null) : null;
  }
  if (streamId === sessionStream(claims.sid) && type === "SessionRevoked") {
    return field(data, "reason") === "refresh-reuse" ? "refresh_token_reused" : "session_revoked";
  }
  if (streamId === keysStream && type === "SigningKeyRevoked" && kid !== null) {
    return field(data, "kid") === kid ? "key_revoked" : null;
  }
  return null;
};

/**
 * Would this genuine token have been accepted at `atMs`, by the events recorded up to
 * `recordedUpTo` (in log order)? The first event that refuses it is its cause.
 */
export const judgeAt = (
  examined: Examined,
  events: readonly RecordedEvent[],
  atMs: number,
  recordedUpTo = atMs,
): Verdict => {
  const now = Math.floor(atMs / 1000);
  if (examined.claims.iat > now + skew) {
    return { valid: false, code: "token_not_yet_valid", cause: null };
  }
  if (examined.claims.exp <= now) return { valid: false, code: "token_expired", cause: null };
  let registered = false;
  for (const event of events) {
    if (event.recordedAt.getTime() > recordedUpTo) continue;
    if (event.type === "UserRegistered" && event.streamId === userStream(examined.claims.sub)) {
      registered = true;
    }
    const code = causeOf(event, examined);
    if (code !== null) return { valid: false, code, cause: event };
  }
  return registered
    ? { valid: true, code: null, cause: null }
    : { valid: false, code: "invalid_token", cause: null };
};

/** A refusal's explanation: the cause found, or plain `invalid_token` when none is. */
export const explanationOf = (verdict: Verdict): Explanation =>
  verdict.code !== null && verdict.cause !== null
    ? { code: verdict.code, revokedAt: verdict.cause.recordedAt }
    : verdict.code === "token_expired"
      ? { code: "token_expired" }
      : unexplained;

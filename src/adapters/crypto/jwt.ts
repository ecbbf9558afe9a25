import { type AccessClaims, type Examined, InvalidToken } from "../../application/ports/Tokens.ts";
import { isRole } from "../../domain/Role.ts";

/** Explicit typing (RFC 8725 section 3.11): an access token is never taken as a refresh token. */
export const accessType = "at+jwt";
export const refreshType = "rt+jwt";

/** Tokens come from us and stay small; anything longer is refused before any parsing. */
export const maxTokenLength = 2048;
export const segment = /^[A-Za-z0-9_-]+$/;
/** Seconds of clock skew tolerated between instances for iat and nbf. */
const skew = 5;

export type Verified = Record<string, unknown>;

export const fail = (reason: string) => new InvalidToken({ reason });

/** A JOSE header as we sign it: its encoding is what a verifier compares, byte for byte. */
export const encodeHeader = (header: Record<string, string>) =>
  Buffer.from(JSON.stringify(header)).toString("base64url");

export const decodeJson = (part: string): Verified | null => {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Verified)
      : null;
  } catch {
    return null;
  }
};

const isId = (value: unknown): value is string =>
  typeof value === "string" && value.length > 0 && value.length <= 64;

const isSeconds = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0;

/** The claims of a token whose signature checked out: issuer, times, ids and epoch. */
export const checkClaims = (
  body: string,
  issuer: string,
  nowMs: number,
): Verified | InvalidToken => {
  const claims = decodeJson(body);
  if (claims === null) return fail("malformed claims");
  const now = Math.floor(nowMs / 1000);
  if (claims.iss !== issuer) return fail("wrong issuer");
  if (!isSeconds(claims.exp) || claims.exp <= now) return fail("expired");
  if (!isSeconds(claims.iat) || claims.iat > now + skew) return fail("issued in the future");
  if (claims.nbf !== undefined && (!isSeconds(claims.nbf) || claims.nbf > now + skew)) {
    return fail("not yet valid");
  }
  if (!isId(claims.sub) || !isId(claims.jti) || !isId(claims.sid)) return fail("missing ids");
  if (!isSeconds(claims.epoch)) return fail("missing epoch");
  return claims;
};

/** The claims of a token whose signature checked out, when they name what we sign; times unchecked. */
export const genuineClaims = (body: string, issuer: string): Examined["claims"] | null => {
  const claims = decodeJson(body);
  if (claims === null || claims.iss !== issuer) return null;
  const { sub, jti, sid, epoch, iat, exp } = claims;
  if (!isId(sub) || !isId(jti) || !isId(sid)) return null;
  if (!isSeconds(epoch) || !isSeconds(iat) || !isSeconds(exp)) return null;
  return Object.freeze({ ...claims, sub, jti, sid, epoch, iat, exp });
};

export const asAccessClaims = (claims: Verified): AccessClaims | InvalidToken =>
  isRole(claims.role) && typeof claims.username === "string"
    ? (claims as unknown as AccessClaims)
    : fail("missing role");

import { createHmac, createSecretKey, type KeyObject } from "node:crypto";
import { Effect, Layer } from "effect";
import { SignJWT } from "jose";
import {
  type AccessClaims,
  InvalidToken,
  type RefreshClaims,
  Tokens,
} from "../../application/ports/Tokens.ts";
import { isRole } from "../../domain/Role.ts";

export type TokenConfig = {
  readonly secret: string;
  readonly issuer: string;
};

/** Explicit typing (RFC 8725 section 3.11): an access token is never taken as a refresh token. */
const accessType = "at+jwt";
const refreshType = "rt+jwt";

/** Tokens come from us and stay small; anything longer is refused before any parsing. */
const maxTokenLength = 2048;
const segment = /^[A-Za-z0-9_-]+$/;
/** Seconds of clock skew tolerated between instances for iat and nbf. */
const skew = 5;

type Verified = Record<string, unknown>;

const encodedHeaders = new Map(
  [accessType, refreshType].map((typ) => [
    typ,
    Buffer.from(JSON.stringify({ alg: "HS256", typ })).toString("base64url"),
  ]),
);
const headerFor = (type: string) => encodedHeaders.get(type);

const fail = (reason: string) => new InvalidToken({ reason });

const decodeJson = (part: string): Verified | null => {
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

/** Compares every character whatever differs first, so the time says nothing of where. */
const sameInConstantTime = (given: string, wanted: string) => {
  let difference = given.length ^ wanted.length;
  for (let i = 0; i < wanted.length; i++) {
    difference |= given.charCodeAt(i) ^ wanted.charCodeAt(i);
  }
  return difference === 0;
};

/** HMAC-SHA256 as base64url: Bun's native hasher where there is one, node:crypto elsewhere. */
const hmacSha256 = (secret: string): ((input: string) => string) => {
  if (typeof Bun !== "undefined") {
    // Keyed once; each signature continues from a copy of that state.
    const keyed = new Bun.CryptoHasher("sha256", secret);
    return (input) => keyed.copy().update(input).digest("base64url");
  }
  const key: KeyObject = createSecretKey(Buffer.from(secret, "utf8"));
  return (input) => createHmac("sha256", key).update(input).digest("base64url");
};

/**
 * HS256 verification of our own, since it runs on every protected request (decision 12).
 * Every check jose would make for this profile is made here too; the tests cross-check both.
 * Signing stays with jose.
 */
export const makeVerifier = (config: TokenConfig) => {
  const sign = hmacSha256(config.secret);

  return (token: string, type: string, nowMs: number): Verified | InvalidToken => {
    if (token.length > maxTokenLength) return fail("too long");
    const parts = token.split(".");
    if (parts.length !== 3) return fail("malformed");
    const [head, body, signature] = parts as [string, string, string];
    // The header is compared byte for byte with the one we sign with: the algorithm is pinned
    // ("none", HS384, HS512, "crit" and any other header are refused) without parsing it.
    if (head !== headerFor(type)) return fail("wrong header");
    if (!segment.test(body) || !segment.test(signature)) return fail("malformed");
    const expected = sign(`${head}.${body}`);
    if (!sameInConstantTime(signature, expected)) return fail("bad signature");
    const claims = decodeJson(body);
    if (claims === null) return fail("malformed claims");
    const now = Math.floor(nowMs / 1000);
    if (claims.iss !== config.issuer) return fail("wrong issuer");
    if (!isSeconds(claims.exp) || claims.exp <= now) return fail("expired");
    if (!isSeconds(claims.iat) || claims.iat > now + skew) return fail("issued in the future");
    if (claims.nbf !== undefined && (!isSeconds(claims.nbf) || claims.nbf > now + skew)) {
      return fail("not yet valid");
    }
    if (!isId(claims.sub) || !isId(claims.jti) || !isId(claims.sid)) return fail("missing ids");
    if (!isSeconds(claims.epoch)) return fail("missing epoch");
    return claims;
  };
};

export const makeTokens = (config: TokenConfig): Tokens["Service"] => {
  const signKey = new TextEncoder().encode(config.secret);
  const verify = makeVerifier(config);
  const checkAccess = (token: string, nowMs: number): AccessClaims | InvalidToken => {
    const claims = verify(token, accessType, nowMs);
    if (claims instanceof InvalidToken) return claims;
    if (!isRole(claims.role) || typeof claims.username !== "string") return fail("missing role");
    return claims as unknown as AccessClaims;
  };

  const sign = (type: string, claims: Record<string, unknown> & { iat: number; exp: number }) =>
    Effect.promise(() =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "HS256", typ: type })
        .setIssuer(config.issuer)
        .sign(signKey),
    );

  return {
    signAccess: (claims) => sign(accessType, { ...claims }),
    signRefresh: (claims) => sign(refreshType, { ...claims }),
    checkAccess,
    verifyAccess: (token, nowMs) => {
      const claims = checkAccess(token, nowMs);
      return claims instanceof InvalidToken ? Effect.fail(claims) : Effect.succeed(claims);
    },
    verifyRefresh: (token, nowMs) => {
      const claims = verify(token, refreshType, nowMs);
      return claims instanceof InvalidToken
        ? Effect.fail(claims)
        : Effect.succeed(claims as unknown as RefreshClaims);
    },
  };
};

export const HmacTokensLayer = (config: TokenConfig) => Layer.succeed(Tokens, makeTokens(config));

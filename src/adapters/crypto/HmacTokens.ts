import { createHmac, createSecretKey, type KeyObject } from "node:crypto";
import { Effect, Layer } from "effect";
import { SignJWT } from "jose";
import {
  type AccessClaims,
  type Examined,
  InvalidToken,
  type RefreshClaims,
  Tokens,
} from "../../application/ports/Tokens.ts";
import {
  accessType,
  asAccessClaims,
  checkClaims,
  encodeHeader,
  fail,
  genuineClaims,
  maxTokenLength,
  refreshType,
  segment,
  type Verified,
} from "./jwt.ts";

export type TokenConfig = {
  readonly secret: string;
  readonly issuer: string;
};

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
 * The `kid` of the secret: a MAC of a fixed text under it, so it names the secret (a token made
 * with another one says so) and tells nothing a token's own signature does not (decision 37).
 */
export const hmacKeyId = (secret: string) =>
  createHmac("sha256", secret).update("authlog key id").digest("base64url").slice(0, 16);

/**
 * HS256 verification of our own, since it runs on every protected request (decision 12).
 * Every check jose would make for this profile is made here too; the tests cross-check both.
 * Signing stays with jose.
 */
export const makeVerifier = (config: TokenConfig) => {
  const sign = hmacSha256(config.secret);
  const kid = hmacKeyId(config.secret);
  // Per type: the header we sign with, and the one without kid that tokens made before had.
  const headers = new Map(
    [accessType, refreshType].map((typ) => [
      typ,
      {
        current: encodeHeader({ alg: "HS256", typ, kid }),
        before: encodeHeader({ alg: "HS256", typ }),
      },
    ]),
  );

  return (token: string, type: string, nowMs: number): Verified | InvalidToken => {
    if (token.length > maxTokenLength) return fail("too long");
    const parts = token.split(".");
    if (parts.length !== 3) return fail("malformed");
    const [head, body, signature] = parts as [string, string, string];
    // The header is compared byte for byte with the ones we sign with: the algorithm is pinned
    // ("none", HS384, HS512, "crit", another kid and any other header are refused) unparsed.
    const known = headers.get(type);
    if (head !== known?.current && head !== known?.before) return fail("wrong header");
    if (!segment.test(body) || !segment.test(signature)) return fail("malformed");
    const expected = sign(`${head}.${body}`);
    if (!sameInConstantTime(signature, expected)) return fail("bad signature");
    return checkClaims(body, config.issuer, nowMs);
  };
};

/** `Tokens.examine` for tokens signed with the secret, access and refresh alike. */
export const makeExaminer = (config: TokenConfig) => {
  const sign = hmacSha256(config.secret);
  const kid = hmacKeyId(config.secret);
  const known = new Map<string, { type: Examined["type"]; kid: string | null }>();
  for (const [typ, type] of [
    [accessType, "access"],
    [refreshType, "refresh"],
  ] as const) {
    known.set(encodeHeader({ alg: "HS256", typ, kid }), { type, kid });
    known.set(encodeHeader({ alg: "HS256", typ }), { type, kid: null });
  }
  return (token: string): Examined | null => {
    if (token.length > maxTokenLength) return null;
    const [head = "", body = "", signature = "", ...more] = token.split(".");
    const header = known.get(head);
    if (header === undefined || more.length > 0) return null;
    if (!segment.test(body) || !segment.test(signature)) return null;
    if (!sameInConstantTime(signature, sign(`${head}.${body}`))) return null;
    const claims = genuineClaims(body, config.issuer);
    return claims === null ? null : { ...header, claims };
  };
};

/** Verified access tokens remembered, at most: ~1 kB each. */
export const rememberedTokens = 10_000;

export const makeTokens = (config: TokenConfig): Tokens["Service"] => {
  const signKey = new TextEncoder().encode(config.secret);
  const kid = hmacKeyId(config.secret);
  const verify = makeVerifier(config);
  // A verified token is remembered by its exact text until its exp: the secret never changes
  // while the process runs, so nothing else can end what was verified (decision 38).
  const remembered = new Map<string, AccessClaims>();
  const checkAccess = (token: string, nowMs: number): AccessClaims | InvalidToken => {
    if (token.length > maxTokenLength) return fail("too long");
    const known = remembered.get(token);
    if (known !== undefined) {
      if (known.exp > Math.floor(nowMs / 1000)) return known;
      remembered.delete(token);
      return fail("expired");
    }
    const verified = verify(token, accessType, nowMs);
    if (verified instanceof InvalidToken) return verified;
    const claims = asAccessClaims(Object.freeze(verified));
    if (claims instanceof InvalidToken) return claims;
    if (remembered.size >= rememberedTokens) {
      remembered.delete(remembered.keys().next().value ?? "");
    }
    remembered.set(token, claims);
    return claims;
  };

  const sign = (type: string, claims: Record<string, unknown> & { iat: number; exp: number }) =>
    Effect.promise(() =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "HS256", typ: type, kid })
        .setIssuer(config.issuer)
        .sign(signKey),
    );

  return {
    examine: makeExaminer(config),
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

import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { Effect, Exit } from "effect";
import { jwtVerify, SignJWT } from "jose";
import { hmacKeyId, makeTokens } from "../../src/adapters/crypto/HmacTokens.ts";
import type { AccessClaims } from "../../src/application/ports/Tokens.ts";

const secret = "s".repeat(40);
const issuer = "authlog-test";
const tokens = makeTokens({ secret, issuer });
const key = new TextEncoder().encode(secret);
const nowMs = 1_800_000_000_000;
const now = nowMs / 1000;

const access: AccessClaims = {
  sub: "u1",
  username: "alice",
  role: "user",
  epoch: 0,
  sid: "s1",
  jti: "j1",
  iat: now,
  exp: now + 900,
};

const refresh = { sub: "u1", epoch: 0, sid: "s1", jti: "r1", iat: now, exp: now + 86_400 };

const verifyAccess = (token: string, at = nowMs) =>
  Effect.runSync(Effect.exit(tokens.verifyAccess(token, at)));
const verifyRefresh = (token: string, at = nowMs) =>
  Effect.runSync(Effect.exit(tokens.verifyRefresh(token, at)));

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const hmac = (alg: "sha256" | "sha384" | "sha512", input: string) =>
  createHmac(alg, secret).update(input).digest("base64url");

/** Builds a token by hand, so the test controls every byte an attacker controls. */
const forge = (
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  alg: "sha256" | "sha384" | "sha512" = "sha256",
) => {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${hmac(alg, input)}`;
};

const header = { alg: "HS256", typ: "at+jwt", kid: hmacKeyId(secret) };
const claims = { ...access, iss: issuer };

describe("access tokens", () => {
  test("a signed token verifies and yields its claims", async () => {
    const signed = await Effect.runPromise(tokens.signAccess(access));
    const exit = verifyAccess(signed);
    expect(Exit.isSuccess(exit) && exit.value).toMatchObject({
      sub: "u1",
      role: "user",
      jti: "j1",
    });
  });

  test("a hand-forged token with the right key and profile verifies (the forge is sound)", () => {
    expect(Exit.isSuccess(verifyAccess(forge(header, claims)))).toBe(true);
  });

  test("the header names the secret's kid, which is neither the secret nor another secret's", async () => {
    const signed = await Effect.runPromise(tokens.signAccess(access));
    const head = JSON.parse(Buffer.from(signed.split(".")[0] ?? "", "base64url").toString());
    expect(head).toEqual(header);
    expect(head.kid).toHaveLength(16);
    expect(secret).not.toContain(head.kid);
    expect(hmacKeyId("x".repeat(40))).not.toBe(head.kid);
  });

  test("a token made before tokens carried a kid still verifies until it expires", () => {
    expect(Exit.isSuccess(verifyAccess(forge({ alg: "HS256", typ: "at+jwt" }, claims)))).toBe(true);
  });

  test("jose accepts what we sign, and we accept what jose signs", async () => {
    const ours = await Effect.runPromise(tokens.signAccess(access));
    const checked = await jwtVerify(ours, key, {
      algorithms: ["HS256"],
      issuer,
      currentDate: new Date(nowMs),
    });
    expect(checked.payload.sub).toBe("u1");
    const theirs = await new SignJWT({ ...access })
      .setProtectedHeader(header)
      .setIssuer(issuer)
      .sign(key);
    expect(Exit.isSuccess(verifyAccess(theirs))).toBe(true);
  });

  const unsigned = `${b64({ alg: "none", typ: "at+jwt" })}.${b64(claims)}.`;
  const tampered = (() => {
    const [h, , s] = forge(header, claims).split(".");
    return `${h}.${b64({ ...claims, role: "admin" })}.${s}`;
  })();
  const { exp: _exp, ...noExp } = claims;
  const { jti: _jti, ...noJti } = claims;
  const { sid: _sid, ...noSid } = claims;
  const { sub: _sub, ...noSub } = claims;
  const { iat: _iat, ...noIat } = claims;

  test.each([
    ["alg none", unsigned],
    ["alg none with a signature", `${unsigned}AAAA`],
    ["HS384 with the right secret", forge({ ...header, alg: "HS384" }, claims, "sha384")],
    ["HS512 with the right secret", forge({ ...header, alg: "HS512" }, claims, "sha512")],
    ["HS256 header over an HS512 signature", forge(header, claims, "sha512")],
    ["no exp", forge(header, noExp)],
    ["expired", forge(header, { ...claims, exp: now })],
    ["exp as a string", forge(header, { ...claims, exp: String(now + 900) })],
    ["iat in the future", forge(header, { ...claims, iat: now + 3600 })],
    ["no iat", forge(header, noIat)],
    ["nbf in the future", forge(header, { ...claims, nbf: now + 3600 })],
    ["wrong issuer", forge(header, { ...claims, iss: "evil" })],
    ["no issuer", forge(header, { ...access })],
    ["no jti", forge(header, noJti)],
    ["no sid", forge(header, noSid)],
    ["no sub", forge(header, noSub)],
    ["no epoch", forge(header, { ...claims, epoch: undefined })],
    ["negative epoch", forge(header, { ...claims, epoch: -1 })],
    ["unknown role", forge(header, { ...claims, role: "root" })],
    ["tampered payload", tampered],
    [
      "signed with another secret",
      (() => {
        const input = `${b64(header)}.${b64(claims)}`;
        return `${input}.${createHmac("sha256", "x".repeat(40)).update(input).digest("base64url")}`;
      })(),
    ],
    ["a refresh token", forge({ alg: "HS256", typ: "rt+jwt" }, claims)],
    ["no typ", forge({ alg: "HS256" }, claims)],
    ["a crit header", forge({ ...header, crit: ["exp"] }, claims)],
    ["another kid", forge({ ...header, kid: "someone-else" }, claims)],
    ["a jku header", forge({ ...header, jku: "http://127.0.0.1:9/jwks.json" }, claims)],
    [
      "the header's fields in another order",
      forge({ typ: "at+jwt", alg: "HS256", kid: header.kid }, claims),
    ],
    ["an array payload", forge(header, [claims] as unknown as Record<string, unknown>)],
    ["garbage", "not-a-token"],
    ["empty", ""],
    ["four segments", `${forge(header, claims)}.x`],
    ["padding characters", `${forge(header, claims)}=`],
    ["oversized", forge(header, { ...claims, pad: "x".repeat(4000) })],
    [
      "non-canonical signature",
      (() => {
        const t = forge(header, claims);
        const last = t.at(-1) === "A" ? "B" : "A";
        return t.slice(0, -1) + last;
      })(),
    ],
  ])("%s is refused", (_name, token) => {
    expect(Exit.isFailure(verifyAccess(token))).toBe(true);
  });

  test("a token is refused once its exp has passed, not before", () => {
    const token = forge(header, claims);
    expect(Exit.isSuccess(verifyAccess(token, (now + 899) * 1000))).toBe(true);
    expect(Exit.isFailure(verifyAccess(token, (now + 900) * 1000))).toBe(true);
  });
});

describe("refresh tokens", () => {
  test("a refresh token verifies as a refresh token only", async () => {
    const token = await Effect.runPromise(tokens.signRefresh(refresh));
    expect(Exit.isSuccess(verifyRefresh(token))).toBe(true);
    expect(Exit.isFailure(verifyAccess(token))).toBe(true);
  });

  test("an access token is refused as a refresh token", async () => {
    const token = await Effect.runPromise(tokens.signAccess(access));
    expect(Exit.isFailure(verifyRefresh(token))).toBe(true);
  });
});

describe("verified access tokens remembered", () => {
  test("a remembered token is refused once its exp passes, and refused tokens are never remembered", async () => {
    const fresh = makeTokens({ secret, issuer });
    const token = await Effect.runPromise(fresh.signAccess(access));
    const claims = { ...access, iss: issuer };
    expect(fresh.checkAccess(token, nowMs)).toEqual(claims);
    // The same text again: answered from memory, still with its own claims.
    expect(fresh.checkAccess(token, nowMs + 1000)).toEqual(claims);
    expect(fresh.checkAccess(token, access.exp * 1000)).toMatchObject({ reason: "expired" });
    expect(fresh.checkAccess(token, nowMs)).toEqual(claims);

    const [head, body] = token.split(".");
    const forged = `${head}.${body}.${"A".repeat(43)}`;
    expect(fresh.checkAccess(forged, nowMs)).toMatchObject({ reason: "bad signature" });
    expect(fresh.checkAccess(forged, nowMs)).toMatchObject({ reason: "bad signature" });
  });
});

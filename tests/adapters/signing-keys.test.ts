import { describe, expect, test } from "bun:test";
import { createHmac, generateKeyPairSync } from "node:crypto";
import { Effect, Exit } from "effect";
import { calculateJwkThumbprint, importJWK, jwtVerify, SignJWT } from "jose";
import { hmacKeyId, makeTokens } from "../../src/adapters/crypto/HmacTokens.ts";
import { makeKeyRingTokens } from "../../src/adapters/crypto/KeyRingTokens.ts";
import {
  makeKeyGenerator,
  publicKeyOf,
  sealingKey,
  UnsealFailed,
  unseal,
} from "../../src/adapters/crypto/NodeSigningKeys.ts";
import type { RingView } from "../../src/application/keys/SigningKeys.ts";
import type { AccessClaims } from "../../src/application/ports/Tokens.ts";
import {
  decideKeyRing,
  evolveKeyRing,
  type FreshKeys,
  foldKeyRing,
  type KeyRingCommand,
  retiredGraceMs,
} from "../../src/domain/keys/KeyRing.ts";
import type { SigningAlgorithm } from "../../src/domain/keys/SigningKeyEvents.ts";

const kek = "key-encryption-key-for-tests-0123456789";
const secret = "refresh-secret-for-tests-0123456789abcdef";
const issuer = "authlog-test";
const generator = makeKeyGenerator(kek);
const nowMs = 1_800_000_000_000;
const now = nowMs / 1000;
const lifetimeSeconds = 900;

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const headerOf = (token: string) =>
  JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString()) as Record<
    string,
    unknown
  >;

const freshKeys = async (alg: SigningAlgorithm): Promise<FreshKeys> => [
  await Effect.runPromise(generator.generate(alg)),
  await Effect.runPromise(generator.generate(alg)),
];

/** A ring moved by domain commands, and the token service that reads it. */
const ringFor = async (alg: SigningAlgorithm) => {
  let view: RingView = { version: 0, ring: foldKeyRing([]) };
  const apply = async (command: (fresh: FreshKeys) => KeyRingCommand) => {
    const decision = decideKeyRing(command(await freshKeys(alg)), view.ring);
    if (!decision.ok) throw new Error(decision.error._tag);
    view = {
      version: view.version + decision.events.length,
      ring: decision.events.reduce(evolveKeyRing, view.ring),
    };
  };
  await apply((fresh) => ({ type: "EnsureKeys", now: nowMs, fresh }));
  const tokens = makeKeyRingTokens(
    { issuer, secret, keyEncryptionKey: kek, accessTokenSeconds: lifetimeSeconds },
    () => view,
  );
  const state = (kid: string) => view.ring.keys.find((k) => k.kid === kid)?.state;
  const active = () => view.ring.keys.find((k) => k.state === "active");
  return { tokens, apply, state, active, view: () => view };
};

const claims: AccessClaims = {
  sub: "u1",
  username: "alice",
  role: "user",
  epoch: 0,
  sid: "s1",
  jti: "j1",
  iat: now,
  exp: now + lifetimeSeconds,
};

describe("sealed private keys", () => {
  test("a sealed key opens with the key-encryption key and signs what its public key verifies", async () => {
    const made = await Effect.runPromise(generator.generate("ES256"));
    const privateKey = unseal(sealingKey(kek), made.kid, made.alg, made.sealedPrivateKey);
    const token = await new SignJWT({ a: 1 })
      .setProtectedHeader({ alg: "ES256", kid: made.kid })
      .sign(privateKey);
    const checked = await jwtVerify(token, publicKeyOf(made.publicJwk), { algorithms: ["ES256"] });
    expect(checked.payload.a).toBe(1);
  });

  test("another key-encryption key does not open it, and the error shows no key material", async () => {
    const made = await Effect.runPromise(generator.generate("EdDSA"));
    const open = () =>
      unseal(sealingKey(`${kek}-other`), made.kid, made.alg, made.sealedPrivateKey);
    expect(open).toThrow(UnsealFailed);
    expect(open).toThrow(made.kid);
    try {
      open();
    } catch (error) {
      expect(String(error)).not.toContain(made.sealedPrivateKey.split(".")[2]);
    }
  });

  test("a seal copied into another key's event, or altered, does not open", async () => {
    const [one, two] = await freshKeys("ES256");
    const key = sealingKey(kek);
    expect(() => unseal(key, two.kid, two.alg, one.sealedPrivateKey)).toThrow(UnsealFailed);
    const [format, iv, body = ""] = one.sealedPrivateKey.split(".");
    const flipped = `${body.startsWith("A") ? "B" : "A"}${body.slice(1)}`;
    expect(() => unseal(key, one.kid, one.alg, [format, iv, flipped].join("."))).toThrow(
      UnsealFailed,
    );
    expect(() => unseal(key, one.kid, one.alg, `v9.${iv}.${body}`)).toThrow(UnsealFailed);
  });

  test.each(["ES256", "EdDSA"] as const)(
    "%s: the kid is its RFC 7638 thumbprint and its event holds no private part",
    async (alg) => {
      const made = await Effect.runPromise(generator.generate(alg));
      expect(made.kid).toBe(await calculateJwkThumbprint({ ...made.publicJwk }));
      expect(Object.keys(made.publicJwk).sort()).toEqual(
        alg === "ES256" ? ["crv", "kty", "x", "y"] : ["crv", "kty", "x"],
      );
      const privateKey = unseal(sealingKey(kek), made.kid, alg, made.sealedPrivateKey);
      const { d } = privateKey.export({ format: "jwk" });
      const pkcs8 = privateKey.export({ format: "der", type: "pkcs8" });
      const event = JSON.stringify(made);
      expect(d).toBeString();
      expect(event).not.toContain(String(d));
      expect(event).not.toContain(pkcs8.toString("base64url"));
      expect(event).not.toContain(pkcs8.toString("base64"));
    },
  );
});

describe.each(["ES256", "EdDSA"] as const)("%s access tokens from the key ring", (alg) => {
  const check = (
    ring: Awaited<ReturnType<typeof ringFor>>,
    token: string,
    at = nowMs,
  ): string | null => {
    const outcome = ring.tokens.checkAccess(token, at);
    return outcome instanceof Error ? (outcome as { reason: string }).reason : null;
  };
  const sign = (ring: Awaited<ReturnType<typeof ringFor>>, with_ = claims) =>
    Effect.runPromise(ring.tokens.signAccess(with_));

  test("carry the active key's kid, and jose verifies them with its public JWK", async () => {
    const ring = await ringFor(alg);
    const token = await sign(ring);
    const active = ring.active();
    expect(headerOf(token)).toEqual({ alg, typ: "at+jwt", kid: active?.kid });
    expect(check(ring, token)).toBeNull();
    const key = await importJWK({ ...active?.publicJwk }, alg);
    const verified = await jwtVerify(token, key, {
      algorithms: [alg],
      issuer,
      currentDate: new Date(nowMs),
    });
    expect(verified.payload.sub).toBe("u1");
  });

  test("a token jose signs with the active key and our header verifies: the forge is sound", async () => {
    const ring = await ringFor(alg);
    const active = ring.active();
    if (!active) throw new Error("no active key");
    const privateKey = unseal(sealingKey(kek), active.kid, alg, active.sealedPrivateKey);
    const token = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg, typ: "at+jwt", kid: active.kid })
      .setIssuer(issuer)
      .sign(privateKey);
    expect(check(ring, token)).toBeNull();
  });

  describe("forged tokens are refused", () => {
    const cases: [string, (ring: Awaited<ReturnType<typeof ringFor>>) => Promise<string>][] = [
      [
        "alg none with the active kid",
        async (ring) =>
          `${b64({ alg: "none", typ: "at+jwt", kid: ring.active()?.kid })}.${b64({ ...claims, iss: issuer })}.`,
      ],
      [
        "HS256 with the public JWK as the HMAC secret (alg switching)",
        async (ring) => {
          const active = ring.active();
          const head = b64({ alg: "HS256", typ: "at+jwt", kid: active?.kid });
          const input = `${head}.${b64({ ...claims, iss: issuer })}`;
          const hmac = createHmac("sha256", JSON.stringify(active?.publicJwk));
          return `${input}.${hmac.update(input).digest("base64url")}`;
        },
      ],
      [
        "HS256 with the public key's PEM as the HMAC secret",
        async (ring) => {
          const active = ring.active();
          if (!active) throw new Error("no active key");
          const pem = publicKeyOf(active.publicJwk).export({ format: "pem", type: "spki" });
          const head = b64({ alg: "HS256", typ: "at+jwt", kid: active.kid });
          const input = `${head}.${b64({ ...claims, iss: issuer })}`;
          return `${input}.${createHmac("sha256", pem).update(input).digest("base64url")}`;
        },
      ],
      [
        "an HS256 access token signed with JWT_SECRET, which signs refresh tokens",
        async () => {
          const head = b64({ alg: "HS256", typ: "at+jwt", kid: hmacKeyId(secret) });
          const input = `${head}.${b64({ ...claims, iss: issuer })}`;
          return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
        },
      ],
      [
        "an unknown kid, signed by a key of its own",
        async () => {
          const pair =
            alg === "ES256"
              ? generateKeyPairSync("ec", { namedCurve: "P-256" })
              : generateKeyPairSync("ed25519");
          return new SignJWT({ ...claims })
            .setProtectedHeader({ alg, typ: "at+jwt", kid: "someone-else" })
            .setIssuer(issuer)
            .sign(pair.privateKey);
        },
      ],
      [
        "our kid, signed by another key",
        async (ring) => {
          const pair =
            alg === "ES256"
              ? generateKeyPairSync("ec", { namedCurve: "P-256" })
              : generateKeyPairSync("ed25519");
          return new SignJWT({ ...claims })
            .setProtectedHeader({ alg, typ: "at+jwt", kid: ring.active()?.kid ?? "" })
            .setIssuer(issuer)
            .sign(pair.privateKey);
        },
      ],
      [
        "our key with a jku, x5u and jwk in the header",
        async (ring) => {
          const active = ring.active();
          if (!active) throw new Error("no active key");
          const privateKey = unseal(sealingKey(kek), active.kid, alg, active.sealedPrivateKey);
          return new SignJWT({ ...claims })
            .setProtectedHeader({
              alg,
              typ: "at+jwt",
              kid: active.kid,
              jku: "http://127.0.0.1:9/jwks.json",
              x5u: "http://127.0.0.1:9/cert.pem",
              jwk: { ...active.publicJwk },
            })
            .setIssuer(issuer)
            .sign(privateKey);
        },
      ],
      [
        "the payload changed after signing",
        async (ring) => {
          const [h, , s] = (await sign(ring)).split(".");
          return `${h}.${b64({ ...claims, role: "admin", iss: issuer })}.${s}`;
        },
      ],
      [
        "a second spelling of the signature",
        async (ring) => {
          const token = await sign(ring);
          const last = token.at(-1) ?? "A";
          const sibling = String.fromCharCode(last.charCodeAt(0) ^ 1);
          return token.slice(0, -1) + sibling;
        },
      ],
      ["expired", async (ring) => sign(ring, { ...claims, exp: now })],
      ["four segments", async (ring) => `${await sign(ring)}.x`],
    ];

    test.each(cases)("%s", async (_name, make) => {
      const ring = await ringFor(alg);
      const reason = check(ring, await make(ring));
      expect(reason).not.toBeNull();
      // The ring's own tokens still pass: the refusal was the forgery's.
      expect(check(ring, await sign(ring))).toBeNull();
    });
  });

  test("a retired key verifies its tokens until they can have expired, then nothing", async () => {
    const ring = await ringFor(alg);
    const token = await sign(ring, { ...claims, exp: now + 100 * lifetimeSeconds });
    const kid = String(headerOf(token).kid);
    await ring.apply((fresh) => ({ type: "RotateKeys", now: nowMs, fresh }));
    expect(ring.state(kid)).toBe("retired");
    const end = nowMs + lifetimeSeconds * 1000 + retiredGraceMs;
    expect(check(ring, token, end - 1)).toBeNull();
    expect(check(ring, token, end)).toBe("key no longer verifies");
    // The next key became the active one: new tokens carry its kid.
    expect(headerOf(await sign(ring)).kid).not.toBe(kid);
  });

  test("a revoked key verifies nothing at once, a token verified (and remembered) before included", async () => {
    const ring = await ringFor(alg);
    const token = await sign(ring);
    expect(check(ring, token)).toBeNull();
    const kid = String(headerOf(token).kid);
    await ring.apply((fresh) => ({ type: "RevokeKey", kid, reason: "test", now: nowMs, fresh }));
    expect(check(ring, token)).toBe("no such key or header");
    expect(check(ring, await sign(ring))).toBeNull();
  });

  test("a remembered token is refused once its exp has passed", async () => {
    const ring = await ringFor(alg);
    const token = await sign(ring);
    expect(check(ring, token)).toBeNull();
    expect(check(ring, token)).toBeNull();
    expect(check(ring, token, (claims.exp - 1) * 1000)).toBeNull();
    expect(check(ring, token, claims.exp * 1000)).toBe("expired");
  });

  test("refresh tokens stay HS256 under the secret; neither kind passes for the other", async () => {
    const ring = await ringFor(alg);
    const refresh = await Effect.runPromise(
      ring.tokens.signRefresh({
        sub: "u1",
        epoch: 0,
        sid: "s1",
        jti: "r1",
        iat: now,
        exp: now + 86_400,
      }),
    );
    expect(headerOf(refresh)).toEqual({ alg: "HS256", typ: "rt+jwt", kid: hmacKeyId(secret) });
    expect(
      Exit.isSuccess(Effect.runSync(Effect.exit(ring.tokens.verifyRefresh(refresh, nowMs)))),
    ).toBe(true);
    expect(check(ring, refresh)).not.toBeNull();
    const access = await sign(ring);
    expect(
      Exit.isFailure(Effect.runSync(Effect.exit(ring.tokens.verifyRefresh(access, nowMs)))),
    ).toBe(true);
  });

  test("examined for an explanation: the ring's access tokens and the secret's refresh tokens are ours, an HS256 access token is not", async () => {
    const ring = await ringFor(alg);
    const access = await sign(ring);
    expect(ring.tokens.examine(access)).toMatchObject({ type: "access", claims: { sub: "u1" } });
    const refresh = await Effect.runPromise(
      ring.tokens.signRefresh({
        sub: "u1",
        epoch: 0,
        sid: "s1",
        jti: "r1",
        iat: now,
        exp: now + 60,
      }),
    );
    expect(ring.tokens.examine(refresh)).toMatchObject({ type: "refresh" });
    const hs256 = await Effect.runPromise(makeTokens({ secret, issuer }).signAccess(claims));
    expect(check(ring, hs256)).not.toBeNull();
    expect(ring.tokens.examine(hs256)).toBeNull();
  });

  test("a ring whose active key the key-encryption key cannot open is refused at start", async () => {
    const ring = await ringFor(alg);
    const open = () =>
      makeKeyRingTokens(
        { issuer, secret, keyEncryptionKey: `${kek}-wrong`, accessTokenSeconds: 900 },
        ring.view,
      );
    expect(open).toThrow(UnsealFailed);
  });
});

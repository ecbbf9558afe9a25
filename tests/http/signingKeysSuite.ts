import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Effect } from "effect";
import { SignJWT } from "jose";
import { hmacKeyId } from "../../src/adapters/crypto/HmacTokens.ts";
import {
  makeKeyGenerator,
  publicKeyOf,
  sealingKey,
  unseal,
} from "../../src/adapters/crypto/NodeSigningKeys.ts";
import { SigningKeys } from "../../src/application/keys/SigningKeys.ts";
import { EventStore } from "../../src/application/ports/EventStore.ts";
import { foldKeyRing, type SigningKey } from "../../src/domain/keys/KeyRing.ts";
import {
  keysStream,
  type SigningAlgorithm,
  type SigningKeyEvent,
} from "../../src/domain/keys/SigningKeyEvents.ts";
import { client, type Mode, secret, startApp } from "../support/app.ts";
import { decodePayload, forge, unsigned } from "../support/jwt.ts";

const admin = { username: "key_admin", password: "key admin password 1" };
const keyEncryptionKey = "http-suite-key-encryption-key-0123456789";

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const headerOf = (token: string) =>
  JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString()) as {
    alg: string;
    typ: string;
    kid: string;
  };

type Ring = { keys: Record<string, unknown>[]; algorithm: string };

/** Signing keys, the JWKS and the server metadata over HTTP, for each storage mode. */
export const signingKeysSuite = (mode: Mode, alg: SigningAlgorithm) =>
  describe(`signing keys (${mode}, ${alg})`, () => {
    let ctx: Awaited<ReturnType<typeof startApp>>;
    let api: ReturnType<typeof client>;
    let boss: string;
    let n = 0;
    const fresh = () => `keys_${mode}_${alg}_${++n}`.toLowerCase();

    beforeAll(async () => {
      ctx = await startApp(`keys-${mode}-${alg}`, mode, {
        ALGORITHM: alg,
        KEY_ENCRYPTION_KEY: keyEncryptionKey,
        ADMIN_USERNAME: admin.username,
        ADMIN_PASSWORD: admin.password,
      });
      api = client(ctx.app);
      boss = (await api.login(admin.username, admin.password)).token;
    });
    afterAll(() => ctx.close());

    const userToken = async () => {
      const name = fresh();
      await api.register(name);
      return (await api.login(name)).token;
    };
    const status = async (token: string) =>
      (await api.call("GET", "/secure/data", { token })).status;
    const jwks = async () =>
      (await api.call("GET", "/.well-known/jwks.json")).body.keys as Record<string, unknown>[];
    const ring = async () => (await api.call("GET", "/admin/keys", { token: boss })).body as Ring;
    const kids = async (state: string) =>
      (await ring()).keys.filter((k) => k.state === state).map((k) => String(k.kid));
    const run = <A>(effect: Effect.Effect<A, unknown, EventStore | SigningKeys>) =>
      ctx.runtime.runPromise(effect as Effect.Effect<A, never, never>);
    /** The ring as the log holds it, private keys still sealed. */
    const logged = () =>
      run(
        Effect.gen(function* () {
          const records = yield* (yield* EventStore).readStream(keysStream);
          return foldKeyRing(
            records.map((r) => ({ type: r.type, data: r.data }) as SigningKeyEvent),
          );
        }),
      );
    const ringVersion = () =>
      run(
        Effect.gen(function* () {
          return (yield* SigningKeys).current().version;
        }),
      );
    const privateKeyOf = (key: SigningKey) =>
      unseal(sealingKey(keyEncryptionKey), key.kid, key.alg, key.sealedPrivateKey);
    const activeKey = async () => {
      const key = (await logged()).keys.find((k) => k.state === "active");
      if (!key) throw new Error("no active key");
      return key;
    };
    const signWith = (key: SigningKey, claims: Record<string, unknown>, extra = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: key.alg, typ: "at+jwt", kid: key.kid, ...extra })
        .sign(privateKeyOf(key));

    test("the JWKS serves the active and next keys as public JWKs, cacheable for 5 minutes", async () => {
      const reply = await api.call("GET", "/.well-known/jwks.json");
      expect(reply.status).toBe(200);
      expect(reply.headers.get("cache-control")).toBe("public, max-age=300");
      const keys = reply.body.keys as Record<string, unknown>[];
      expect(keys.map((k) => k.kid).sort()).toEqual(
        [...(await kids("active")), ...(await kids("next"))].sort(),
      );
      const fields =
        alg === "ES256"
          ? ["alg", "crv", "kid", "kty", "use", "x", "y"]
          : ["alg", "crv", "kid", "kty", "use", "x"];
      for (const key of keys) {
        expect(Object.keys(key).sort()).toEqual(fields);
        expect(key).toMatchObject({ alg, use: "sig", kty: alg === "ES256" ? "EC" : "OKP" });
      }
    });

    test("an access token names the active key; the refresh token the secret's kid", async () => {
      const name = fresh();
      await api.register(name);
      const login = await api.login(name);
      expect(headerOf(login.token)).toEqual({
        alg,
        typ: "at+jwt",
        kid: (await kids("active"))[0] ?? "",
      });
      expect(headerOf(login.refresh)).toEqual({
        alg: "HS256",
        typ: "rt+jwt",
        kid: hmacKeyId(secret),
      });
      expect((await api.call("POST", "/auth/refresh", { cookie: login.refresh })).status).toBe(200);
    });

    test("the server metadata (RFC 8414) names the issuer of the tokens and every endpoint", async () => {
      const reply = await api.call("GET", "/.well-known/oauth-authorization-server");
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({
        issuer: decodePayload(boss).iss,
        token_endpoint: "http://localhost/auth/token",
        jwks_uri: "http://localhost/.well-known/jwks.json",
        introspection_endpoint: "http://localhost/oauth/introspect",
        revocation_endpoint: "http://localhost/oauth/revoke",
        grant_types_supported: ["password", "refresh_token"],
        token_endpoint_auth_methods_supported: ["none"],
        introspection_endpoint_auth_methods_supported: ["client_secret_basic"],
        revocation_endpoint_auth_methods_supported: ["none"],
      });
    });

    test("GET /admin/keys: every key with its state and dates, no private material; admins only", async () => {
      const listing = await ring();
      expect(listing.algorithm).toBe(alg);
      expect(listing.keys.map((k) => k.state)).toContain("active");
      const text = (await api.call("GET", "/admin/keys", { token: boss })).text;
      for (const key of (await logged()).keys) {
        expect(text).not.toContain(key.sealedPrivateKey.split(".")[2] ?? "");
        expect(text).not.toContain(String(privateKeyOf(key).export({ format: "jwk" }).d));
      }
      expect(text).not.toMatch(/sealed|"d":/);
      expect((await api.call("GET", "/admin/keys")).status).toBe(401);
      expect((await api.call("GET", "/admin/keys", { token: await userToken() })).status).toBe(403);
      expect(
        (await api.call("POST", "/admin/keys/rotate", { token: await userToken() })).status,
      ).toBe(403);
    });

    test("rotation: new tokens carry the next key's kid, earlier ones still pass, the JWKS has all three", async () => {
      const before = await userToken();
      const [next] = await kids("next");
      const [active] = await kids("active");
      const reply = await api.call("POST", "/admin/keys/rotate", { token: boss });
      expect(reply.status).toBe(200);
      const after = await userToken();
      expect(headerOf(after).kid).toBe(next ?? "");
      expect(await status(before)).toBe(200);
      expect(await status(after)).toBe(200);
      const published = (await jwks()).map((k) => k.kid);
      expect(published).toContain(active);
      expect(published).toContain(next);
      expect(published).toHaveLength(3);
      boss = (await api.login(admin.username, admin.password)).token;
    });

    describe("forged and foreign access tokens", () => {
      let claims: Record<string, unknown>;
      beforeAll(async () => {
        claims = decodePayload(await userToken());
      });

      const cases: [string, () => Promise<string>][] = [
        [
          "alg none",
          async () =>
            unsigned({ alg: "none", typ: "at+jwt", kid: (await activeKey()).kid }, claims),
        ],
        [
          "HS256 with the public JWK as the HMAC secret",
          async () => {
            const key = await activeKey();
            return forge(
              JSON.stringify(key.publicJwk),
              { alg: "HS256", typ: "at+jwt", kid: key.kid },
              claims,
            );
          },
        ],
        [
          "HS256 with the public key's PEM as the HMAC secret",
          async () => {
            const key = await activeKey();
            const pem = String(publicKeyOf(key.publicJwk).export({ format: "pem", type: "spki" }));
            return forge(pem, { alg: "HS256", typ: "at+jwt", kid: key.kid }, claims);
          },
        ],
        [
          "HS256 with JWT_SECRET",
          async () =>
            forge(secret, { alg: "HS256", typ: "at+jwt", kid: hmacKeyId(secret) }, claims),
        ],
        [
          "an unknown kid",
          async () => {
            const stranger = await Effect.runPromise(
              makeKeyGenerator(keyEncryptionKey).generate(alg),
            );
            return signWith({ ...(await activeKey()), ...stranger }, claims);
          },
        ],
        [
          "the role raised after signing",
          async () => {
            const [h, , s] = (await signWith(await activeKey(), claims)).split(".");
            return `${h}.${b64({ ...claims, role: "admin" })}.${s}`;
          },
        ],
      ];

      test("the forge itself makes a token the API accepts", async () => {
        expect(await status(await signWith(await activeKey(), claims))).toBe(200);
      });

      test.each(cases)("%s is 401 and changes nothing", async (_name, make) => {
        const reply = await api.call("GET", "/secure/data", { token: await make() });
        expect(reply.status).toBe(401);
        expect(reply.headers.get("www-authenticate")).toContain("Bearer");
        expect(await status(await signWith(await activeKey(), claims))).toBe(200);
      });

      test("jku, x5u and jwk headers are refused, and their URLs never fetched", async () => {
        const asked: string[] = [];
        const bait = Bun.serve({
          port: 0,
          hostname: "127.0.0.1",
          fetch: (request) => {
            asked.push(request.url);
            return new Response("{}");
          },
        });
        try {
          const key = await activeKey();
          const at = `http://127.0.0.1:${bait.port}`;
          for (const extra of [
            { jku: `${at}/jwks.json` },
            { x5u: `${at}/cert.pem` },
            { jwk: { ...key.publicJwk } },
          ]) {
            expect(await status(await signWith(key, claims, extra))).toBe(401);
          }
          await Bun.sleep(100);
          expect(asked).toEqual([]);
        } finally {
          bait.stop(true);
        }
      });

      test("a key retired longer ago than a token lives verifies nothing, and is not published", async () => {
        const stale = await Effect.runPromise(makeKeyGenerator(keyEncryptionKey).generate(alg));
        const hoursAgo = (h: number) => Date.now() - h * 3_600_000;
        const version = await ringVersion();
        await run(
          Effect.gen(function* () {
            yield* (yield* EventStore).append(
              keysStream,
              [
                { type: "SigningKeyCreated", data: { ...stale, createdAt: hoursAgo(3) } },
                { type: "SigningKeyRetired", data: { kid: stale.kid, retiredAt: hoursAgo(2) } },
              ],
              { expectedVersion: version },
            );
          }),
        );
        // The ring follows the log within a poll.
        for (let i = 0; i < 40; i++) {
          if ((await ringVersion()) > version) break;
          await Bun.sleep(50);
        }
        const key = (await logged()).keys.find((k) => k.kid === stale.kid);
        if (!key) throw new Error("the seeded key is not in the log");
        expect(await status(await signWith(key, claims))).toBe(401);
        expect((await jwks()).map((k) => k.kid)).not.toContain(stale.kid);
        expect((await ring()).keys.find((k) => k.kid === stale.kid)).toMatchObject({
          state: "retired",
          published: false,
        });
      });
    });

    test("revoking the active key: its tokens are 401 at once, the next key signs, the JWKS drops it", async () => {
      const token = await userToken();
      const { kid } = headerOf(token);
      const [next] = await kids("next");
      const made = await api.call("POST", "/admin/clients", {
        token: boss,
        body: { name: "key-revocation-watcher" },
      });
      expect(made.status).toBe(201);
      const basic = `Basic ${btoa(`${made.body.client_id}:${made.body.client_secret}`)}`;
      const introspect = async () =>
        (
          await api.call("POST", "/oauth/introspect", {
            form: { token },
            headers: { authorization: basic },
          })
        ).body;
      expect(await introspect()).toMatchObject({ active: true });
      expect((await api.call("GET", "/auth/verify", { token })).status).toBe(200);
      const reply = await api.call("POST", `/admin/keys/${kid}/revoke`, {
        token: boss,
        body: { reason: "compromised" },
      });
      expect(reply.status).toBe(200);
      const revoked = (reply.body as unknown as Ring).keys.find((k) => k.kid === kid);
      expect(revoked).toMatchObject({
        state: "revoked",
        revocation_reason: "compromised",
        published: false,
      });
      const refused = await api.call("GET", "/secure/data", { token });
      expect(refused.status).toBe(401);
      expect(refused.headers.get("www-authenticate")).toContain("invalid_token");
      expect((await api.call("GET", "/auth/verify", { token })).status).toBe(401);
      expect(await introspect()).toEqual({ active: false });
      expect((await jwks()).map((k) => k.kid)).not.toContain(kid);
      // The admin's own token came from that key too.
      expect((await api.call("GET", "/admin/keys", { token: boss })).status).toBe(401);
      boss = (await api.login(admin.username, admin.password)).token;
      expect(headerOf(boss).kid).toBe(next ?? "");
      const again = await api.call("POST", `/admin/keys/${kid}/revoke`, { token: boss });
      expect(again.status).toBe(200);
    });

    test("revoke: an unknown kid is 404, a long one or a long reason 422; nothing changes", async () => {
      const before = (await logged()).keys.length;
      const unknown = await api.call("POST", "/admin/keys/no-such-kid/revoke", { token: boss });
      expect(unknown.status).toBe(404);
      expect(unknown.headers.get("content-type")).toStartWith("application/problem+json");
      const [active] = await kids("active");
      expect(
        (await api.call("POST", `/admin/keys/${"k".repeat(65)}/revoke`, { token: boss })).status,
      ).toBe(422);
      const long = await api.call("POST", `/admin/keys/${active}/revoke`, {
        token: boss,
        body: { reason: "x".repeat(201) },
      });
      expect(long.status).toBe(422);
      expect(
        (
          await api.call("POST", `/admin/keys/${active}/revoke`, {
            token: boss,
            raw: "{",
            headers: { "content-type": "application/json" },
          })
        ).status,
      ).toBe(400);
      expect((await logged()).keys.length).toBe(before);
      expect(await kids("active")).toEqual([active ?? ""]);
    });
  });

/** HS256: the JWKS is empty, and there are no keys to change. */
export const hs256KeysSuite = (mode: Mode) =>
  describe(`signing keys with HS256 (${mode})`, () => {
    let ctx: Awaited<ReturnType<typeof startApp>>;
    let api: ReturnType<typeof client>;
    beforeAll(async () => {
      ctx = await startApp(`keys-hs256-${mode}`, mode, {
        ADMIN_USERNAME: admin.username,
        ADMIN_PASSWORD: admin.password,
      });
      api = client(ctx.app);
    });
    afterAll(() => ctx.close());

    test("the JWKS is empty, the admin list too; rotate and revoke are 409; tokens name the secret's kid", async () => {
      const keys = await api.call("GET", "/.well-known/jwks.json");
      expect(keys.status).toBe(200);
      expect(keys.body).toEqual({ keys: [] });
      const { token } = await api.login(admin.username, admin.password);
      expect(headerOf(token)).toEqual({ alg: "HS256", typ: "at+jwt", kid: hmacKeyId(secret) });
      expect((await api.call("GET", "/admin/keys", { token })).body).toEqual({
        algorithm: "HS256",
        keys: [],
      });
      for (const path of ["/admin/keys/rotate", "/admin/keys/anything/revoke"]) {
        const reply = await api.call("POST", path, { token });
        expect(reply.status).toBe(409);
        expect(reply.body.detail).toContain("HS256");
      }
    });
  });

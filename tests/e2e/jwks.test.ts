import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { apiCalls, spawnApi, storageFor } from "../support/server.ts";

const admin = { username: "jwks_admin", password: "jwks admin password" };
const password = "correct horse battery";

describe.each(["ES256", "EdDSA"] as const)(
  "a resource server verifies %s tokens from the JWKS (jose)",
  (alg) => {
    const storage = storageFor(`jwks_${alg.toLowerCase()}`);
    let api: Awaited<ReturnType<typeof spawnApi>>;

    beforeAll(async () => {
      api = await spawnApi(
        {
          ...storage.env,
          ALGORITHM: alg,
          KEY_ENCRYPTION_KEY: `${crypto.randomUUID()}${crypto.randomUUID()}`,
          ADMIN_USERNAME: admin.username,
          ADMIN_PASSWORD: admin.password,
        },
        { quiet: true },
      );
    });
    afterAll(async () => {
      await api?.stop();
      await storage.drop();
    });

    const { post, login } = apiCalls(() => api.base, password);

    test("across a rotation: earlier tokens verify until they expire, new ones carry the new kid", async () => {
      expect((await post("/auth/register", { username: "reader", password })).status).toBe(201);
      const metadata = (await (
        await fetch(`${api.base}/.well-known/oauth-authorization-server`)
      ).json()) as { issuer: string; jwks_uri: string };
      expect(metadata.jwks_uri).toBe(`${api.base}/.well-known/jwks.json`);
      // What a resource server does: the key set at jwks_uri, the issuer from the metadata.
      const keys = createRemoteJWKSet(new URL(metadata.jwks_uri));
      const verify = (token: string, at?: Date) =>
        jwtVerify(token, keys, {
          issuer: metadata.issuer,
          algorithms: [alg],
          typ: "at+jwt",
          ...(at ? { currentDate: at } : {}),
        });

      const before = await login("reader");
      const first = await verify(before);
      expect(first.protectedHeader).toMatchObject({ alg, typ: "at+jwt" });
      expect(first.payload.sub).toBeString();

      const boss = await login(admin.username, admin.password);
      expect((await post("/admin/keys/rotate", undefined, boss)).status).toBe(200);

      const after = await login("reader");
      expect(decodeProtectedHeader(after).kid).not.toBe(decodeProtectedHeader(before).kid);
      // The new kid was published as the next key before it signed: the cached set knows it.
      expect((await verify(after)).payload.sub).toBe(first.payload.sub);
      expect((await verify(before)).payload.jti).toBe(first.payload.jti);

      const expired = new Date(((first.payload.exp ?? 0) + 1) * 1000);
      await expect(verify(before, expired)).rejects.toThrow(/exp/);
    });
  },
);

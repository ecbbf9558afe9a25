import { afterEach, describe, expect, test } from "bun:test";
import { Effect } from "effect";
import { listKeys, publishedKeys } from "../../src/application/keys/listKeys.ts";
import { revokeKey } from "../../src/application/keys/revokeKey.ts";
import { rotateKeys } from "../../src/application/keys/rotateKeys.ts";
import { changeKeyRing, SigningKeys } from "../../src/application/keys/SigningKeys.ts";
import { EventStore } from "../../src/application/ports/EventStore.ts";
import { retiredGraceMs } from "../../src/domain/keys/KeyRing.ts";
import { keysStream } from "../../src/domain/keys/SigningKeyEvents.ts";
import { eventually } from "../support/net.ts";
import {
  authenticated,
  failure,
  loginAs,
  outcome,
  registerUser,
  streamOf,
  testApps,
} from "./layers.ts";

const apps = testApps();
afterEach(() => apps.disposeAll());

const kidOf = (token: string): string =>
  JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString()).kid;

const states = (app: ReturnType<typeof apps.make>) =>
  app.ok(listKeys()).then((listing) => listing.keys.map((key) => key.state));

describe("the key ring as the use cases see it", () => {
  test("the first start makes an active and a next key; a second start appends nothing", async () => {
    const app = apps.make({ keys: { algorithm: "ES256" } });
    expect(await states(app)).toEqual(["active", "next"]);
    const ensured = await app.ok(
      changeKeyRing((fresh, now) => ({ type: "EnsureKeys", now, fresh }), {}),
    );
    expect(ensured.version).toBe(3);
    expect(await streamOf(app, keysStream)).toHaveLength(3);
  });

  test("eight starts racing on one log agree on one ring", async () => {
    const app = apps.make({ keys: { algorithm: "EdDSA" } });
    const ensure = changeKeyRing((fresh, now) => ({ type: "EnsureKeys", now, fresh }), {});
    const views = await app.ok(
      Effect.all(
        Array.from({ length: 8 }, () => ensure),
        { concurrency: 8 },
      ),
    );
    expect(new Set(views.map((view) => view.version))).toEqual(new Set([3]));
    expect(await states(app)).toEqual(["active", "next"]);
  });

  test("a login signs with the active key; after a rotation, with the key that was next", async () => {
    const app = apps.make({ keys: { algorithm: "ES256" } });
    await registerUser(app, "alice");
    const before = await loginAs(app, "alice");
    const [active, next] = (await app.ok(listKeys())).keys;
    expect(kidOf(before.pair.accessToken)).toBe(active?.kid ?? "");
    await app.ok(rotateKeys({ actor: "test" }));
    const after = await loginAs(app, "alice");
    expect(kidOf(after.pair.accessToken)).toBe(next?.kid ?? "");
    expect(outcome(await app.run(authenticated(before.pair.accessToken)))).toBe("success");
  });

  test("a retired key verifies while its tokens may live, then leaves the JWKS", async () => {
    const app = apps.make({ keys: { algorithm: "ES256" }, auth: { accessTokenSeconds: 60 } });
    await registerUser(app, "bob");
    const { pair } = await loginAs(app, "bob");
    await app.ok(rotateKeys({}));
    const [retired] = (await app.ok(listKeys())).keys;
    expect(retired?.state).toBe("retired");
    const until = (retired?.retiredAt ?? 0) + 60_000 + retiredGraceMs;
    expect(retired?.verifiesUntil).toBe(until);
    app.advance(59_000);
    expect(outcome(await app.run(authenticated(pair.accessToken)))).toBe("success");
    const published = () => app.ok(publishedKeys).then((keys) => keys.map((key) => key.kid));
    // The clock also moves on by itself: a second's margin either side.
    app.advance(until - 1_000 - app.now());
    expect(await published()).toContain(retired?.kid ?? "");
    app.advance(1_000);
    expect(await published()).not.toContain(retired?.kid ?? "");
    expect(await published()).toHaveLength(2);
  });

  test("a revoked key's tokens are refused as the revocation returns", async () => {
    const app = apps.make({ keys: { algorithm: "EdDSA" } });
    await registerUser(app, "carol");
    const { pair } = await loginAs(app, "carol");
    const listing = await app.ok(revokeKey({ kid: kidOf(pair.accessToken), reason: "leaked" }, {}));
    expect(listing.keys.map((key) => [key.state, key.revocationReason])).toEqual([
      ["revoked", "leaked"],
      ["active", null],
      ["next", null],
    ]);
    expect(failure(await app.run(authenticated(pair.accessToken)))).toMatchObject({
      reason: "no such key or header",
    });
    const again = await loginAs(app, "carol");
    expect(kidOf(again.pair.accessToken)).toBe(listing.keys[1]?.kid ?? "");
  });

  test("an over-long reason is refused and changes nothing; an unknown kid is not found", async () => {
    const app = apps.make({ keys: { algorithm: "ES256" } });
    const [active] = (await app.ok(listKeys())).keys;
    const long = await app.run(revokeKey({ kid: active?.kid ?? "", reason: "x".repeat(201) }, {}));
    expect(outcome(long)).toBe("ValidationFailed");
    expect(outcome(await app.run(revokeKey({ kid: "nope" }, {})))).toBe("SigningKeyNotFound");
    expect(await states(app)).toEqual(["active", "next"]);
  });

  test("with KEY_ROTATION_DAYS, the follower rotates once the active key is that old", async () => {
    const day = 86_400_000;
    const app = apps.make({ keys: { algorithm: "ES256", rotationMs: day, pollMs: 20 } });
    const current = () =>
      app.ok(
        Effect.gen(function* () {
          return (yield* SigningKeys).current().version;
        }),
      );
    expect(await current()).toBe(3);
    app.advance(day - 60_000);
    await Bun.sleep(100);
    expect(await current()).toBe(3);
    app.advance(60_000);
    expect(await eventually(async () => (await current()) === 6, 2_000)).toBe(true);
    expect(await states(app)).toEqual(["retired", "active", "next"]);
  });

  test("the follower reads the stream again only when another process appended to it", async () => {
    const app = apps.make({ keys: { algorithm: "ES256", pollMs: 20 } });
    const version = () =>
      app.ok(
        Effect.gen(function* () {
          return (yield* SigningKeys).current().version;
        }),
      );
    expect(await version()).toBe(3);
    const before = app.reads(keysStream);
    await Bun.sleep(200);
    expect(app.reads(keysStream)).toBe(before);
    const [active] = (await app.ok(listKeys())).keys;
    await app.ok(
      Effect.gen(function* () {
        yield* (yield* EventStore).append(
          keysStream,
          [
            {
              type: "SigningKeyRevoked",
              data: { kid: active?.kid, reason: "elsewhere", revokedAt: 1 },
            },
          ],
          { expectedVersion: 3 },
        );
      }),
    );
    expect(await eventually(async () => (await version()) === 4, 1_000)).toBe(true);
    await Bun.sleep(100);
    // listKeys read it once; the follower once.
    expect(app.reads(keysStream)).toBe(before + 2);
  });

  test("with HS256 there are no keys to rotate or revoke", async () => {
    const app = apps.make();
    expect(await app.ok(listKeys())).toEqual({ algorithm: "HS256", keys: [] });
    expect(outcome(await app.run(rotateKeys({})))).toBe("KeysNotManaged");
    expect(outcome(await app.run(revokeKey({ kid: "x" }, {})))).toBe("KeysNotManaged");
  });
});

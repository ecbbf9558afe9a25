import { describe, expect, test } from "bun:test";
import { Effect } from "effect";
import { makePasswordHasher } from "../../src/adapters/crypto/BunPasswordHasher.ts";
import { makeNodeRsPasswordHasher } from "../../src/adapters/crypto/NodeRsArgon2PasswordHasher.ts";

const cost = { memoryCost: 19_456, timeCost: 2 };
const hashers = {
  "Bun.password": makePasswordHasher(cost),
  "@node-rs/argon2": makeNodeRsPasswordHasher(cost),
};
const run = Effect.runPromise;

describe.each(Object.entries(hashers))("%s", (_, hasher) => {
  test("writes an argon2id PHC string with the configured cost", async () => {
    const hash = await run(hasher.hash("correct horse battery"));
    expect(hash).toStartWith("$argon2id$v=19$m=19456,t=2,p=1$");
    expect(await run(hasher.verify("correct horse battery", hash))).toBe(true);
    expect(await run(hasher.verify("correct horse batterY", hash))).toBe(false);
  });

  test("a malformed hash verifies nothing and throws nothing", async () => {
    expect(await run(hasher.verify("anything", "not a hash"))).toBe(false);
    expect(await run(hasher.verify("anything", "$argon2id$v=19$m=19456,t=2,p=1$AAAA$BBBB"))).toBe(
      false,
    );
  });

  test("an unknown user's login spends a real verification", async () => {
    const started = performance.now();
    await run(hasher.verifyDummy("correct horse battery"));
    // Far above a no-op: an argon2id verification at 19 MiB takes milliseconds.
    expect(performance.now() - started).toBeGreaterThan(2);
  });
});

test("each verifies the other's hashes: Bun and Deno instances share one user base", async () => {
  const fromBun = await run(hashers["Bun.password"].hash("shared secret 1"));
  const fromRust = await run(hashers["@node-rs/argon2"].hash("shared secret 2"));
  expect(await run(hashers["@node-rs/argon2"].verify("shared secret 1", fromBun))).toBe(true);
  expect(await run(hashers["Bun.password"].verify("shared secret 2", fromRust))).toBe(true);
  expect(await run(hashers["Bun.password"].verify("shared secret 1", fromRust))).toBe(false);
});

import { describe, expect, test } from "bun:test";
import { Effect } from "effect";
import { sha256ClientSecrets as secrets } from "../../src/adapters/crypto/Sha256ClientSecrets.ts";

describe("client secrets (SHA-256)", () => {
  test("a secret is 256 random bits in 43 URL-safe characters, never the same twice", async () => {
    const made = await Promise.all(
      Array.from({ length: 50 }, () => Effect.runPromise(secrets.generate)),
    );
    for (const secret of made) {
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(secret, "base64url")).toHaveLength(32);
    }
    expect(new Set(made).size).toBe(made.length);
  });

  test("its hash matches it and nothing else, and does not contain it", async () => {
    const secret = await Effect.runPromise(secrets.generate);
    const hash = secrets.hash(secret);
    expect(hash).toStartWith("sha256:");
    expect(hash).not.toContain(secret);
    expect(secrets.hash(secret)).toBe(hash);
    expect(secrets.matches(secret, hash)).toBe(true);
    for (const wrong of [`${secret}x`, secret.slice(1), "", secret.toUpperCase()]) {
      expect(secrets.matches(wrong, hash)).toBe(false);
    }
  });

  test.each([
    ["empty", ""],
    ["another scheme", "argon2id:abc"],
    ["a short digest", "sha256:AAAA"],
    ["not base64url", "sha256:!!!"],
  ])("a malformed hash (%s) matches nothing", (_case, hash) => {
    expect(secrets.matches("whatever", hash)).toBe(false);
  });
});

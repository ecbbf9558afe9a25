import { afterEach, describe, expect, test } from "bun:test";
import { Effect } from "effect";
import { login } from "../../src/application/login.ts";
import { RateLimiter } from "../../src/application/ports/RateLimiter.ts";
import { usernameKey } from "../../src/domain/user/Username.ts";
import { failure, outcome, password, registerUser, type TestApp, testApps } from "./layers.ts";

const apps = testApps();
afterEach(apps.disposeAll);

const lockoutMs = 900_000;
const wrong = "not the password";

const attempt = (app: TestApp, username: string, pass: string, clientIp?: string) =>
  app.run(login({ username, password: pass }, clientIp ? { clientIp } : {}));

/** How many slots the username's counter holds, read through the port (one is taken and given back). */
const usernameCount = (app: TestApp, username: string) =>
  app.ok(
    Effect.gen(function* () {
      const limiter = yield* RateLimiter;
      const key = `login:${usernameKey(username)}`;
      const take = yield* limiter.take(key, 1_000, lockoutMs);
      yield* limiter.give(key);
      return take.taken ? take.count - 1 : Number.POSITIVE_INFINITY;
    }),
  );

describe("login throttling", () => {
  test("after the allowed wrong passwords the username is locked, the right password included", async () => {
    const app = apps.make({ limits: { loginMaxFailuresPerUser: 3, loginLockoutMs: lockoutMs } });
    await registerUser(app, "alice");
    for (let i = 0; i < 3; i++) {
      expect(outcome(await attempt(app, "alice", wrong))).toBe("InvalidCredentials");
    }
    const locked = failure(await attempt(app, "alice", password));
    expect(locked._tag).toBe("RateLimited");
    if (locked._tag !== "RateLimited") return;
    expect(locked.retryAfterSeconds).toBeGreaterThan(0);
    expect(locked.retryAfterSeconds).toBeLessThanOrEqual(lockoutMs / 1000);
    // The lock is the username's, not the client's.
    expect(outcome(await attempt(app, "alice", password, "198.51.100.9"))).toBe("RateLimited");
  });

  test("the lockout ends with its window: the right password is accepted again", async () => {
    const app = apps.make({ limits: { loginMaxFailuresPerUser: 2, loginLockoutMs: lockoutMs } });
    await registerUser(app, "alice");
    await attempt(app, "alice", wrong);
    await attempt(app, "alice", wrong);
    expect(outcome(await attempt(app, "alice", password))).toBe("RateLimited");
    app.advance(lockoutMs - 1_000);
    expect(outcome(await attempt(app, "alice", password))).toBe("RateLimited");
    app.advance(1_001);
    expect(outcome(await attempt(app, "alice", password))).toBe("success");
  });

  test("an unknown username is locked like a known one, so the answer reveals nothing", async () => {
    const app = apps.make({ limits: { loginMaxFailuresPerUser: 2 } });
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(outcome(await attempt(app, "nobody", wrong)));
    expect(answers).toEqual(["InvalidCredentials", "InvalidCredentials", "RateLimited"]);
  });

  test("parallel wrong guesses never pass the limit", async () => {
    const app = apps.make({ limits: { loginMaxFailuresPerUser: 3 } });
    await registerUser(app, "alice");
    const exits = await Promise.all(
      Array.from({ length: 12 }, (_, i) => attempt(app, "alice", `${wrong} ${i}`)),
    );
    const tags = exits.map(outcome);
    expect(tags.filter((tag) => tag === "InvalidCredentials")).toHaveLength(3);
    expect(tags.filter((tag) => tag === "RateLimited")).toHaveLength(9);
  });

  test("a correct login gives its slots back: only wrong passwords count", async () => {
    const app = apps.make({ limits: { loginMaxFailuresPerUser: 3 } });
    await registerUser(app, "alice");
    await attempt(app, "alice", wrong);
    await attempt(app, "alice", wrong);
    for (let i = 0; i < 5; i++) {
      expect(outcome(await attempt(app, "alice", password))).toBe("success");
    }
    expect(await usernameCount(app, "alice")).toBe(2);
    expect(outcome(await attempt(app, "alice", wrong))).toBe("InvalidCredentials");
    expect(outcome(await attempt(app, "alice", password))).toBe("RateLimited");
  });

  test("a locked client IP is refused before the username's counter is touched", async () => {
    const app = apps.make({ limits: { loginMaxFailuresPerIp: 2, loginMaxFailuresPerUser: 10 } });
    await registerUser(app, "alice");
    await registerUser(app, "bob");
    const ip = "203.0.113.5";
    await attempt(app, "alice", wrong, ip);
    await attempt(app, "alice", wrong, ip);
    expect(await usernameCount(app, "alice")).toBe(2);

    const before = app.takes().length;
    for (let i = 0; i < 3; i++) {
      expect(outcome(await attempt(app, "bob", wrong, ip))).toBe("RateLimited");
    }
    expect(outcome(await attempt(app, "bob", password, ip))).toBe("RateLimited");
    const touched = app.takes().slice(before);
    expect(touched).toHaveLength(4);
    expect(touched.filter((key) => key.includes("bob"))).toEqual([]);
    expect(await usernameCount(app, "bob")).toBe(0);
    // Another client is not locked out of bob's account by the first one's guesses.
    expect(outcome(await attempt(app, "bob", password, "198.51.100.1"))).toBe("success");
  });
});

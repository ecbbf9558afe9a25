import { afterEach, describe, expect, test } from "bun:test";
import { Effect, Exit } from "effect";
import { EventStore, startOfLog } from "../../src/application/ports/EventStore.ts";
import { register } from "../../src/application/register.ts";
import { type Credentials, findUserId } from "../../src/application/users.ts";
import { adminSetStream } from "../../src/domain/admin/AdminSet.ts";
import { userStream } from "../../src/domain/user/UserEvents.ts";
import { failure, outcome, password, streamOf, type TestApp, testApps } from "./layers.ts";

const apps = testApps();
afterEach(apps.disposeAll);

const signUp = (app: TestApp, input: Credentials, clientIp?: string) =>
  app.run(register(input, clientIp ? { clientIp } : {}));

const logTypes = (app: TestApp) =>
  app.ok(
    Effect.gen(function* () {
      const page = yield* (yield* EventStore).readAll(startOfLog, 1_000);
      return page.events.map((event) => event.type);
    }),
  );

const fieldsOf = async (app: TestApp, input: Credentials) => {
  const error = failure(await signUp(app, input));
  return error._tag === "ValidationFailed" ? error.fields.map((field) => field.name) : error._tag;
};

describe("register", () => {
  test("concurrent registrations of one name, in any case: exactly one wins, the rest fail UsernameTaken", async () => {
    const app = apps.make();
    const names = ["alice", "Alice", "ALICE", "alice", "aLiCe", "alice"];
    const exits = await Promise.all(names.map((username) => signUp(app, { username, password })));
    const tags = exits.map(outcome);
    expect(tags.filter((tag) => tag === "success")).toHaveLength(1);
    expect(tags.filter((tag) => tag === "UsernameTaken")).toHaveLength(names.length - 1);
    const winner = exits.find(Exit.isSuccess);
    expect(await app.ok(findUserId("alice"))).toBe(winner?.value.id ?? "none");
    expect(await logTypes(app)).toEqual(["UserRegistered"]);
  });

  test("ValidationFailed names each invalid field, and nothing is written", async () => {
    const app = apps.make();
    expect(await fieldsOf(app, { username: "a!", password })).toEqual(["username"]);
    expect(await fieldsOf(app, { username: "alice", password: "short" })).toEqual(["password"]);
    expect(await fieldsOf(app, { username: "al", password: "x".repeat(129) })).toEqual([
      "username",
      "password",
    ]);
    // A Cyrillic look-alike is refused, not normalised.
    expect(await fieldsOf(app, { username: "\u0430lice", password })).toEqual(["username"]);
    expect(await logTypes(app)).toEqual([]);
  });

  test("register never creates an admin, even when the input asks for one", async () => {
    const app = apps.make();
    // What a client could smuggle into the body: the type does not know `role`.
    const input = { username: "mallory", password, role: "admin" };
    const user = await app.ok(register(input, {}));
    expect(user.role).toBe("user");
    const [registered] = await streamOf(app, userStream(user.id));
    expect(registered?.data).toMatchObject({ role: "user" });
    expect(await streamOf(app, adminSetStream)).toEqual([]);
  });

  test("a client past its hourly limit gets RateLimited; refused input does not count", async () => {
    const app = apps.make({ limits: { registerPerIpPerHour: 2 } });
    const ip = "203.0.113.20";
    expect(outcome(await signUp(app, { username: "x", password }, ip))).toBe("ValidationFailed");
    expect(outcome(await signUp(app, { username: "user1", password }, ip))).toBe("success");
    expect(outcome(await signUp(app, { username: "user2", password }, ip))).toBe("success");
    const limited = failure(await signUp(app, { username: "user3", password }, ip));
    expect(limited._tag).toBe("RateLimited");
    expect(limited._tag === "RateLimited" && limited.retryAfterSeconds).toBeGreaterThan(0);
    expect(outcome(await signUp(app, { username: "user3", password }, "198.51.100.2"))).toBe(
      "success",
    );
    app.advance(3_600_000);
    expect(outcome(await signUp(app, { username: "user4", password }, ip))).toBe("success");
  });
});

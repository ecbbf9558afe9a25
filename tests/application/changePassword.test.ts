import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { Exit } from "effect";
import { changePassword, type PasswordChange } from "../../src/application/changePassword.ts";
import { login } from "../../src/application/login.ts";
import type { AccessClaims } from "../../src/application/ports/Tokens.ts";
import { refresh } from "../../src/application/refresh.ts";
import { userStream } from "../../src/domain/user/UserEvents.ts";
import {
  authenticateAll,
  failure,
  loginAs,
  outcome,
  password,
  registerUser,
  streamOf,
  type TestApp,
  testApps,
} from "./layers.ts";

const apps = testApps();
afterEach(apps.disposeAll);

const change = (app: TestApp, principal: AccessClaims, input: PasswordChange) =>
  app.run(changePassword(principal, input, {}));

const loginWith = (app: TestApp, pass: string) =>
  app.run(login({ username: "alice", password: pass }, {})).then(outcome);

const passwordChanges = async (app: TestApp, userId: string) =>
  (await streamOf(app, userStream(userId))).filter((e) => e.type === "PasswordChanged");

describe("changePassword", () => {
  test("a wrong current password fails InvalidCredentials and changes nothing", async () => {
    const app = apps.make();
    const userId = await registerUser(app, "alice");
    const { pair, principal } = await loginAs(app, "alice");
    const exit = await change(app, principal, {
      currentPassword: "not the password",
      newPassword: "a brand new password",
    });
    expect(outcome(exit)).toBe("InvalidCredentials");
    expect(await passwordChanges(app, userId)).toEqual([]);
    expect(await authenticateAll(app, [pair])).toEqual(["success"]);
    expect(await loginWith(app, password)).toBe("success");
  });

  test("a wrong current password costs no hash of the new one", async () => {
    const app = apps.make();
    await registerUser(app, "alice");
    const { principal } = await loginAs(app, "alice");
    const hash = spyOn(Bun.password, "hash");
    try {
      const exit = await change(app, principal, {
        currentPassword: "not the password",
        newPassword: "a brand new password",
      });
      expect(outcome(exit)).toBe("InvalidCredentials");
      expect(hash).toHaveBeenCalledTimes(0);
      await app.ok(
        changePassword(
          principal,
          { currentPassword: password, newPassword: "a brand new one" },
          {},
        ),
      );
      expect(hash).toHaveBeenCalledTimes(1);
    } finally {
      hash.mockRestore();
    }
  });

  test("a change kills every earlier token and answers with a live pair for the new password", async () => {
    const app = apps.make();
    await registerUser(app, "alice");
    const { pair, principal } = await loginAs(app, "alice");
    const { pair: elsewhere } = await loginAs(app, "alice");
    const fresh = await app.ok(
      changePassword(principal, { currentPassword: password, newPassword: "a brand new one" }, {}),
    );
    expect(await authenticateAll(app, [pair, elsewhere, fresh])).toEqual([
      "TokenRejected",
      "TokenRejected",
      "success",
    ]);
    expect(outcome(await app.run(refresh(elsewhere.refreshToken, {})))).toBe("TokenRejected");
    expect(outcome(await app.run(refresh(fresh.refreshToken, {})))).toBe("success");
    expect(await loginWith(app, password)).toBe("InvalidCredentials");
    expect(await loginWith(app, "a brand new one")).toBe("success");
  });

  test("concurrent changes with the right password: one succeeds, the others AccountChanged or Contended, never InvalidCredentials", async () => {
    const app = apps.make({ limits: { loginMaxFailuresPerUser: 50 } });
    const userId = await registerUser(app, "alice");
    const { principal } = await loginAs(app, "alice");
    const candidates = Array.from({ length: 6 }, (_, i) => `new password number ${i}`);
    const exits = await Promise.all(
      candidates.map((newPassword) =>
        change(app, principal, { currentPassword: password, newPassword }),
      ),
    );
    const tags = exits.map(outcome);
    expect(tags.filter((tag) => tag === "success")).toHaveLength(1);
    for (const tag of tags.filter((tag) => tag !== "success")) {
      expect(["AccountChanged", "Contended"]).toContain(tag);
    }
    expect(app.conflicts()).toBeGreaterThan(0);
    expect(await passwordChanges(app, userId)).toHaveLength(1);
    // The winner's password is the one that works now; no loser's overwrote it.
    const winner = exits.findIndex(Exit.isSuccess);
    for (const [i, candidate] of candidates.entries()) {
      expect(await loginWith(app, candidate)).toBe(i === winner ? "success" : "InvalidCredentials");
    }
  });

  test("wrong current passwords count toward the username's lockout", async () => {
    const app = apps.make({ limits: { loginMaxFailuresPerUser: 2 } });
    await registerUser(app, "alice");
    const { principal } = await loginAs(app, "alice");
    const guess = (currentPassword: string) =>
      change(app, principal, { currentPassword, newPassword: "a brand new password" }).then(
        outcome,
      );
    expect(await guess("guess number one")).toBe("InvalidCredentials");
    expect(await guess("guess number two")).toBe("InvalidCredentials");
    expect(await guess(password)).toBe("RateLimited");
    expect(await loginWith(app, password)).toBe("RateLimited");
  });

  test("an invalid new password fails ValidationFailed naming new_password", async () => {
    const app = apps.make();
    await registerUser(app, "alice");
    const { principal } = await loginAs(app, "alice");
    const error = failure(
      await change(app, principal, { currentPassword: password, newPassword: "short" }),
    );
    expect(error._tag === "ValidationFailed" && error.fields.map((f) => f.name)).toEqual([
      "new_password",
    ]);
  });
});

import { afterEach, describe, expect, test } from "bun:test";
import { logout } from "../../src/application/logout.ts";
import { refresh } from "../../src/application/refresh.ts";
import { userEvents } from "../../src/application/userEvents.ts";
import { sessionStream } from "../../src/domain/session/SessionEvents.ts";
import { userStream } from "../../src/domain/user/UserEvents.ts";
import { createAdmin, failure, loginAs, outcome, registerUser, testApps } from "./layers.ts";

const apps = testApps();
afterEach(apps.disposeAll);

describe("userEvents", () => {
  test("a caller whose token is not an admin's gets RoleRequired", async () => {
    const app = apps.make();
    await createAdmin(app, "root");
    const bobId = await registerUser(app, "bob");
    const { principal } = await loginAs(app, "bob");
    const error = failure(await app.run(userEvents(bobId, { principal })));
    expect(error._tag).toBe("RoleRequired");
    expect(error._tag === "RoleRequired" && error.role).toBe("admin");
  });

  test("an admin sees the user's events and their sessions', in log order, with who and where, without hashes", async () => {
    const app = apps.make();
    await createAdmin(app, "root");
    const { principal: admin } = await loginAs(app, "root");
    const bobId = await registerUser(app, "bob");
    const from = { clientIp: "203.0.113.7", requestId: "req-1" };
    const { pair, principal: first } = await loginAs(app, "bob", from);
    const rotated = await app.ok(refresh(pair.refreshToken, from));
    await app.ok(logout({ refreshToken: rotated.refreshToken }, from));
    const { principal: bob } = await loginAs(app, "bob");

    const entries = await app.ok(userEvents(bobId, { principal: admin }));
    expect(entries.map((e) => e.type)).toEqual([
      "UserRegistered",
      "SessionStarted",
      "RefreshTokenRotated",
      "SessionRevoked",
      "SessionStarted",
    ]);
    const positions = entries.map((e) => e.position);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(new Set(entries.map((e) => e.stream))).toEqual(
      new Set([userStream(bobId), sessionStream(first.sid), sessionStream(bob.sid)]),
    );
    const fromRequests = entries.slice(1, 4);
    for (const entry of fromRequests) {
      expect(entry).toMatchObject({ actor: bobId, clientIp: from.clientIp, requestId: "req-1" });
    }
    expect(JSON.stringify(entries)).not.toMatch(/hash|argon2/i);
  });

  test("an operator reads it too; an unknown user fails UserNotFound", async () => {
    const app = apps.make();
    const bobId = await registerUser(app, "bob");
    const entries = await app.ok(userEvents(bobId, { operator: "console" }));
    expect(entries.map((e) => e.type)).toEqual(["UserRegistered"]);
    const exit = await app.run(
      userEvents("0190aaaa-0000-7000-8000-000000000000", { operator: "x" }),
    );
    expect(outcome(exit)).toBe("UserNotFound");
  });
});

import { afterEach, describe, expect, test } from "bun:test";
import { Effect, Exit } from "effect";
import { type Caller, changeRole } from "../../src/application/changeRole.ts";
import { TokenState } from "../../src/application/ports/TokenState.ts";
import {
  type AdminSetEvent,
  adminSetStream,
  foldAdminSet,
} from "../../src/domain/admin/AdminSet.ts";
import type { Role } from "../../src/domain/Role.ts";
import { userStream } from "../../src/domain/user/UserEvents.ts";
import {
  authenticateAll,
  createAdmin,
  loginAs,
  outcome,
  registerUser,
  streamOf,
  type TestApp,
  testApps,
} from "./layers.ts";

const apps = testApps();
afterEach(apps.disposeAll);

const setRole = (app: TestApp, username: string, role: Role, caller: Caller) =>
  app.run(changeRole({ username, role }, caller, {}));

/** The admin set as the log has it. */
const admins = async (app: TestApp) =>
  foldAdminSet(
    (await streamOf(app, adminSetStream)).map(
      (e) => ({ type: e.type, data: e.data }) as AdminSetEvent,
    ),
  );

const projectedEpoch = (app: TestApp, userId: string) =>
  app.ok(
    Effect.gen(function* () {
      return (yield* (yield* TokenState).lookup(userId, "none", "none")).epoch;
    }),
  );

describe("changeRole", () => {
  test("concurrent role changes of one user end in success or a named error, with no gap in its epochs", async () => {
    const app = apps.make();
    const root = await createAdmin(app, "root");
    const bobId = await registerUser(app, "bob");
    const named = new Set(["success", "Contended"]);
    for (let round = 0; round < 4; round++) {
      const requested: Role[] = Array.from({ length: 8 }, (_, i) => (i % 2 ? "user" : "admin"));
      // Staggered by a few scheduler turns, so some load before and some after another's append.
      const exits = await Promise.all(
        requested.map((role, i) =>
          app.run(
            Effect.andThen(
              Effect.forEach(Array(i % 3), () => Effect.yieldNow),
              changeRole({ username: "bob", role }, { admin: root }, {}),
            ),
          ),
        ),
      );
      for (const [i, exit] of exits.entries()) {
        expect(named.has(outcome(exit))).toBe(true);
        // A success answers with the role it asked for.
        if (Exit.isSuccess(exit)) expect(exit.value.role).toBe(requested[i] as Role);
      }
    }
    expect(app.conflicts()).toBeGreaterThan(0);

    const events = await streamOf(app, userStream(bobId));
    expect(events.map((e) => e.version)).toEqual(events.map((_, i) => i + 1));
    const changes = events.slice(1).map((e) => e.data as { from: Role; to: Role; epoch: number });
    expect(changes.length).toBeGreaterThan(4);
    expect(changes.map((c) => c.epoch)).toEqual(changes.map((_, i) => i + 1));
    // Each change starts from where the one before it left: none was decided on stale state.
    let role: Role = "user";
    for (const change of changes) {
      expect(change.from).toBe(role);
      expect(change.to).not.toBe(role);
      role = change.to;
    }
    expect((await admins(app)).has(bobId)).toBe(role === "admin");
    expect(await projectedEpoch(app, bobId)).toBe(changes.length);
  });

  test("a role change refuses every token the user held", async () => {
    const app = apps.make();
    const root = await createAdmin(app, "root");
    await registerUser(app, "bob");
    const { pair } = await loginAs(app, "bob");
    expect(outcome(await setRole(app, "bob", "admin", { admin: root }))).toBe("success");
    expect(await authenticateAll(app, [pair])).toEqual(["TokenRejected"]);
    const { principal } = await loginAs(app, "bob");
    expect(principal.role).toBe("admin");
  });

  test("demoting the last admin fails LastAdmin", async () => {
    const app = apps.make();
    const root = await createAdmin(app, "root");
    expect(outcome(await setRole(app, "root", "user", { admin: root }))).toBe("LastAdmin");
    expect(outcome(await setRole(app, "root", "user", { operator: "console" }))).toBe("LastAdmin");
    expect([...(await admins(app))]).toEqual([root]);
  });

  test("two admins demoting themselves at once: one succeeds, the other is the last and fails LastAdmin", async () => {
    const app = apps.make();
    const ann = await createAdmin(app, "ann");
    const ben = await createAdmin(app, "ben");
    const [annLeaves, benLeaves] = await Promise.all([
      setRole(app, "ann", "user", { admin: ann }),
      setRole(app, "ben", "user", { admin: ben }),
    ]);
    expect([outcome(annLeaves), outcome(benLeaves)].sort()).toEqual(["LastAdmin", "success"]);
    expect(app.conflicts()).toBeGreaterThan(0);
    expect([...(await admins(app))]).toEqual([Exit.isSuccess(annLeaves) ? ben : ann]);
  });

  test("two admins demoting each other at once: exactly one succeeds, and an admin remains", async () => {
    const app = apps.make();
    const ann = await createAdmin(app, "ann");
    const ben = await createAdmin(app, "ben");
    const exits = await Promise.all([
      setRole(app, "ben", "user", { admin: ann }),
      setRole(app, "ann", "user", { admin: ben }),
    ]);
    // The loser was demoted before its own change was decided: no longer an admin.
    expect(exits.map(outcome).sort()).toEqual(["RoleRequired", "success"]);
    expect(app.conflicts()).toBeGreaterThan(0);
    expect([...(await admins(app))]).toHaveLength(1);
  });

  test("operators demoting both admins at once: one fails LastAdmin", async () => {
    const app = apps.make();
    await createAdmin(app, "ann");
    await createAdmin(app, "ben");
    const exits = await Promise.all([
      setRole(app, "ann", "user", { operator: "console-1" }),
      setRole(app, "ben", "user", { operator: "console-2" }),
    ]);
    expect(exits.map(outcome).sort()).toEqual(["LastAdmin", "success"]);
    expect(app.conflicts()).toBeGreaterThan(0);
    expect([...(await admins(app))]).toHaveLength(1);
  });

  test("a caller who is not an admin gets RoleRequired and changes nothing", async () => {
    const app = apps.make();
    await createAdmin(app, "root");
    const bob = await registerUser(app, "bob");
    const carolId = await registerUser(app, "carol");
    expect(outcome(await setRole(app, "carol", "admin", { admin: bob }))).toBe("RoleRequired");
    expect(await streamOf(app, userStream(carolId))).toHaveLength(1);
  });

  test("an unknown username fails UserNotFound; an unknown role fails ValidationFailed", async () => {
    const app = apps.make();
    const root = await createAdmin(app, "root");
    expect(outcome(await setRole(app, "nobody", "admin", { admin: root }))).toBe("UserNotFound");
    const exit = await app.run(
      changeRole({ username: "root", role: "owner" }, { admin: root }, {}),
    );
    expect(outcome(exit)).toBe("ValidationFailed");
  });
});

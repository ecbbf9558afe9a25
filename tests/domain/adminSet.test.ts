import { describe, expect, test } from "bun:test";
import {
  type AdminRoster,
  type AdminSetEvent,
  activeAdmins,
  adminSetOnRegister,
  decideDisable,
  decideEnable,
  decideRoleChange,
  foldAdminRoster,
  foldAdminSet,
} from "../../src/domain/admin/AdminSet.ts";
import type { Role } from "../../src/domain/Role.ts";
import { foldUser } from "../../src/domain/user/User.ts";

const now = 1_800_000_000_000;

const user = (
  id: string,
  role: Role,
  epoch = 0,
  disabled: { until: number | null } | null = null,
) => {
  const registered = foldUser([
    {
      type: "UserRegistered",
      data: { userId: id, username: `name_${id}`, passwordHash: "$argon2id$h", role },
    },
  ]);
  return registered.status === "active" ? { ...registered, epoch, disabled } : registered;
};

const granted = (userId: string): AdminSetEvent => ({ type: "AdminGranted", data: { userId } });
const revoked = (userId: string): AdminSetEvent => ({ type: "AdminRevoked", data: { userId } });

const disabledEvent = (userId: string, until: number | null = null): AdminSetEvent => ({
  type: "AccountDisabled",
  data: { userId, until },
});
const enabledEvent = (userId: string): AdminSetEvent => ({
  type: "AccountEnabled",
  data: { userId },
});

/** Admins `ids`, none disabled. */
const roster = (ids: readonly string[], disabled: Record<string, number | null> = {}) =>
  ({ admins: new Set(ids), disabled: new Map(Object.entries(disabled)) }) satisfies AdminRoster;

const operator = (role: Role) => ({ role, caller: null, by: "cli:ops", now });
const byAdmin = (role: Role, caller: string) => ({ role, caller, by: caller, now });

describe("the admin set", () => {
  test("folds grants and revocations", () => {
    expect([...foldAdminSet([granted("a"), granted("b"), revoked("a")])]).toEqual(["b"]);
  });

  test("registering an admin grants, registering a user does not", () => {
    expect(adminSetOnRegister("a", "admin")).toEqual([granted("a")]);
    expect(adminSetOnRegister("a", "user")).toEqual([]);
  });
});

describe("a role change", () => {
  test("promoting writes RoleChanged with the next epoch and a grant", () => {
    const decision = decideRoleChange(
      byAdmin("admin", "root"),
      user("u", "user", 3),
      roster(["root"]),
    );
    expect(decision).toEqual({
      ok: true,
      user: [
        {
          type: "RoleChanged",
          data: { userId: "u", from: "user", to: "admin", by: "root", epoch: 4 },
        },
      ],
      admins: [granted("u")],
    });
  });

  test("demoting one of two admins writes RoleChanged and a revocation", () => {
    const decision = decideRoleChange(operator("user"), user("a", "admin"), roster(["a", "b"]));
    expect(decision.ok && decision.admins).toEqual([revoked("a")]);
    expect(decision.ok && decision.user[0]?.type).toBe("RoleChanged");
  });

  test("demoting the last admin is refused", () => {
    const decision = decideRoleChange(operator("user"), user("a", "admin"), roster(["a"]));
    expect(!decision.ok && decision.error._tag).toBe("LastAdmin");
  });

  test("an admin missing from the set is never counted as the one that remains", () => {
    const decision = decideRoleChange(operator("user"), user("a", "admin"), roster([]));
    expect(!decision.ok && decision.error._tag).toBe("LastAdmin");
  });

  test("the same role writes nothing for the user, and puts a missing admin back in the set", () => {
    expect(decideRoleChange(operator("user"), user("u", "user"), roster(["r"]))).toEqual({
      ok: true,
      user: [],
      admins: [],
    });
    expect(decideRoleChange(operator("admin"), user("a", "admin"), roster(["r"]))).toEqual({
      ok: true,
      user: [],
      admins: [granted("a")],
    });
  });

  test("a caller who is no longer in the admin set is refused, whatever the target", () => {
    const decision = decideRoleChange(
      byAdmin("user", "gone"),
      user("a", "admin"),
      roster(["a", "b"]),
    );
    expect(!decision.ok && decision.error._tag).toBe("NotAnAdmin");
  });

  test("demoting the last active admin is refused while the other admins are disabled", () => {
    const admins = roster(["a", "b"], { b: null });
    const decision = decideRoleChange(operator("user"), user("a", "admin"), admins);
    expect(!decision.ok && decision.error._tag).toBe("LastAdmin");
  });

  test("an admin whose disable has lapsed counts as active again", () => {
    const admins = roster(["a", "b"], { b: now - 1 });
    const decision = decideRoleChange(operator("user"), user("a", "admin"), admins);
    expect(decision.ok && decision.admins).toEqual([revoked("a")]);
  });

  test("a disabled admin can be demoted while another admin is active", () => {
    const admins = roster(["a", "b"], { a: null });
    const decision = decideRoleChange(
      operator("user"),
      user("a", "admin", 0, { until: null }),
      admins,
    );
    expect(decision.ok && decision.admins).toEqual([revoked("a")]);
  });

  test("a disabled caller is refused", () => {
    const admins = roster(["a", "b", "c"], { c: null });
    const decision = decideRoleChange(byAdmin("user", "c"), user("a", "admin"), admins);
    expect(!decision.ok && decision.error._tag).toBe("NotAnAdmin");
  });

  test("an unknown user is refused", () => {
    const decision = decideRoleChange(operator("admin"), { status: "unregistered" }, roster(["r"]));
    expect(!decision.ok && decision.error._tag).toBe("UserNotFound");
  });
});

describe("the admin roster", () => {
  test("folds members and disabled accounts; an enable clears the disable", () => {
    const folded = foldAdminRoster([
      granted("a"),
      granted("b"),
      disabledEvent("b", now + 60_000),
      disabledEvent("u"),
      enabledEvent("u"),
      disabledEvent("x"),
      revoked("a"),
    ]);
    expect([...folded.admins]).toEqual(["b"]);
    expect([...folded.disabled]).toEqual([
      ["b", now + 60_000],
      ["x", null],
    ]);
  });

  test("a later disable replaces the earlier one's until", () => {
    const folded = foldAdminRoster([disabledEvent("u", now + 1), disabledEvent("u", null)]);
    expect(folded.disabled.get("u")).toBeNull();
  });

  test("an admin is active unless disabled, until the disable lapses", () => {
    const folded = roster(["a", "b", "c", "d"], { b: null, c: now + 1, d: now });
    expect(activeAdmins(folded, now)).toEqual(["a", "d"]);
    expect(activeAdmins(folded, now + 1)).toEqual(["a", "c", "d"]);
  });
});

const disableBy = (caller: string | null, until: number | null = null) => ({
  reason: "left",
  until,
  caller,
  by: caller ?? "cli:ops",
  now,
});

describe("a disable", () => {
  test("writes UserDisabled with the next epoch and AccountDisabled to the admin set", () => {
    const decision = decideDisable(
      disableBy("root", now + 5),
      user("u", "user", 2),
      roster(["root"]),
    );
    expect(decision).toEqual({
      ok: true,
      user: [
        {
          type: "UserDisabled",
          data: { userId: "u", reason: "left", until: now + 5, by: "root", epoch: 3 },
        },
      ],
      admins: [disabledEvent("u", now + 5)],
    });
  });

  test("the last active admin cannot be disabled, by an operator or by itself", () => {
    const admins = roster(["a", "b"], { b: null });
    for (const caller of [null, "a"]) {
      const decision = decideDisable(disableBy(caller), user("a", "admin"), admins);
      expect(!decision.ok && decision.error._tag).toBe("LastAdmin");
    }
  });

  test("an admin can be disabled while another is active", () => {
    const decision = decideDisable(disableBy("b"), user("a", "admin"), roster(["a", "b"]));
    expect(decision.ok && decision.admins).toEqual([disabledEvent("a")]);
  });

  test("disabling an already disabled admin is allowed: the active one stays", () => {
    const admins = roster(["a", "b"], { a: null });
    const target = user("a", "admin", 1, { until: null });
    const decision = decideDisable(disableBy("b", now + 9), target, admins);
    expect(decision.ok && decision.user[0]?.type).toBe("UserDisabled");
  });

  test("a caller that is disabled or not an admin is refused", () => {
    const admins = roster(["a", "b"], { b: null });
    for (const caller of ["b", "u"]) {
      const decision = decideDisable(disableBy(caller), user("x", "user"), admins);
      expect(!decision.ok && decision.error._tag).toBe("NotAnAdmin");
    }
  });

  test("an unknown user is refused", () => {
    const decision = decideDisable(disableBy(null), { status: "unregistered" }, roster(["a"]));
    expect(!decision.ok && decision.error._tag).toBe("UserNotFound");
  });
});

describe("an enable", () => {
  const enableBy = (caller: string | null) => ({ caller, by: caller ?? "cli:ops", now });

  test("writes UserEnabled and AccountEnabled for a disabled account, without moving the epoch", () => {
    const target = user("u", "user", 4, { until: null });
    const decision = decideEnable(enableBy("root"), target, roster(["root"], { u: null }));
    expect(decision).toEqual({
      ok: true,
      user: [{ type: "UserEnabled", data: { userId: "u", by: "root" } }],
      admins: [enabledEvent("u")],
    });
  });

  test("an account that is not disabled writes nothing", () => {
    expect(decideEnable(enableBy(null), user("u", "user"), roster(["a"]))).toEqual({
      ok: true,
      user: [],
      admins: [],
    });
  });

  test("a lapsed disable is still cleared, in the user's stream and the admin set", () => {
    const target = user("u", "user", 1, { until: now - 1 });
    const decision = decideEnable(enableBy(null), target, roster(["a"], { u: now - 1 }));
    expect(decision.ok && decision.user.map((e) => e.type)).toEqual(["UserEnabled"]);
    expect(decision.ok && decision.admins).toEqual([enabledEvent("u")]);
  });

  test("a disabled caller is refused, an unknown user too", () => {
    const admins = roster(["a", "b"], { b: null });
    const refused = decideEnable(enableBy("b"), user("u", "user", 0, { until: null }), admins);
    expect(!refused.ok && refused.error._tag).toBe("NotAnAdmin");
    const unknown = decideEnable(enableBy("a"), { status: "unregistered" }, admins);
    expect(!unknown.ok && unknown.error._tag).toBe("UserNotFound");
  });
});

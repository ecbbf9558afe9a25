import { describe, expect, test } from "bun:test";
import {
  type AdminSetEvent,
  adminSetOnRegister,
  decideRoleChange,
  foldAdminSet,
} from "../../src/domain/admin/AdminSet.ts";
import type { Role } from "../../src/domain/Role.ts";
import { foldUser } from "../../src/domain/user/User.ts";

const user = (id: string, role: Role, epoch = 0) => {
  const registered = foldUser([
    {
      type: "UserRegistered",
      data: { userId: id, username: `name_${id}`, passwordHash: "$argon2id$h", role },
    },
  ]);
  return registered.status === "active" ? { ...registered, epoch } : registered;
};

const granted = (userId: string): AdminSetEvent => ({ type: "AdminGranted", data: { userId } });
const revoked = (userId: string): AdminSetEvent => ({ type: "AdminRevoked", data: { userId } });

const operator = (role: Role) => ({ role, caller: null, by: "cli:ops" });
const byAdmin = (role: Role, caller: string) => ({ role, caller, by: caller });

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
      new Set(["root"]),
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
    const decision = decideRoleChange(operator("user"), user("a", "admin"), new Set(["a", "b"]));
    expect(decision.ok && decision.admins).toEqual([revoked("a")]);
    expect(decision.ok && decision.user[0]?.type).toBe("RoleChanged");
  });

  test("demoting the last admin is refused", () => {
    const decision = decideRoleChange(operator("user"), user("a", "admin"), new Set(["a"]));
    expect(!decision.ok && decision.error._tag).toBe("LastAdmin");
  });

  test("an admin missing from the set is never counted as the one that remains", () => {
    const decision = decideRoleChange(operator("user"), user("a", "admin"), new Set());
    expect(!decision.ok && decision.error._tag).toBe("LastAdmin");
  });

  test("the same role writes nothing for the user, and puts a missing admin back in the set", () => {
    expect(decideRoleChange(operator("user"), user("u", "user"), new Set(["r"]))).toEqual({
      ok: true,
      user: [],
      admins: [],
    });
    expect(decideRoleChange(operator("admin"), user("a", "admin"), new Set(["r"]))).toEqual({
      ok: true,
      user: [],
      admins: [granted("a")],
    });
  });

  test("a caller who is no longer in the admin set is refused, whatever the target", () => {
    const decision = decideRoleChange(
      byAdmin("user", "gone"),
      user("a", "admin"),
      new Set(["a", "b"]),
    );
    expect(!decision.ok && decision.error._tag).toBe("NotAnAdmin");
  });

  test("an unknown user is refused", () => {
    const decision = decideRoleChange(
      operator("admin"),
      { status: "unregistered" },
      new Set(["r"]),
    );
    expect(!decision.ok && decision.error._tag).toBe("UserNotFound");
  });
});

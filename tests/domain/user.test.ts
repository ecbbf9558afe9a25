import { describe, expect, test } from "bun:test";
import { isValidPassword } from "../../src/domain/user/Password.ts";
import { decideUser, foldUser, type UserCommand } from "../../src/domain/user/User.ts";
import type { UserEvent } from "../../src/domain/user/UserEvents.ts";
import { isValidUsername, usernameKey } from "../../src/domain/user/Username.ts";
import { error, events } from "../support/decision.ts";

const given = (...events: UserEvent[]) => ({
  when: (command: UserCommand) => decideUser(command, foldUser(events)),
});

const registered: UserEvent = {
  type: "UserRegistered",
  data: { userId: "u1", username: "Alice", passwordHash: "$argon2id$h", role: "user" },
};

const register: UserCommand = {
  type: "RegisterUser",
  userId: "u1",
  username: "Alice",
  passwordHash: "$argon2id$h",
  role: "user",
};

describe("registration", () => {
  test("a new user is registered with the given role", () => {
    expect(events(given().when(register))).toEqual([registered]);
  });

  test("a registered user cannot register again", () => {
    expect(error(given(registered).when(register))).toMatchObject({
      _tag: "UserAlreadyRegistered",
      userId: "u1",
    });
  });

  test("an invalid username is refused", () => {
    expect(error(given().when({ ...register, username: "a b" }))._tag).toBe("InvalidUsername");
  });

  test("a registered user starts at epoch 0", () => {
    expect(foldUser([registered])).toMatchObject({ status: "active", epoch: 0, role: "user" });
  });
});

describe("usernames and passwords", () => {
  test.each([
    ["abc", true],
    ["Alice_the.great-1", true],
    ["a".repeat(32), true],
    ["ab", false],
    ["a".repeat(33), false],
    ["alice bob", false],
    ["Ａlice", false],
    ["аlice", false],
    ["alice\u0000", false],
    ["", false],
  ])("%p valid: %p", (name, valid) => {
    expect(isValidUsername(name)).toBe(valid);
  });

  test("usernames are unique case-insensitively", () => {
    expect(usernameKey("Alice")).toBe(usernameKey("aLICE"));
    expect(usernameKey("alice")).not.toBe(usernameKey("alice2"));
  });

  test.each([
    ["1234567", false],
    ["12345678", true],
    ["x".repeat(128), true],
    ["x".repeat(129), false],
  ])("password %p valid: %p", (password, valid) => {
    expect(isValidPassword(password)).toBe(valid);
  });
});

describe("role change", () => {
  test("advances the epoch and records who changed it", () => {
    expect(
      events(given(registered).when({ type: "ChangeRole", role: "admin", by: "root" })),
    ).toEqual([
      {
        type: "RoleChanged",
        data: { userId: "u1", from: "user", to: "admin", by: "root", epoch: 1 },
      },
    ]);
  });

  test("each change moves the epoch one further", () => {
    const first: UserEvent = {
      type: "RoleChanged",
      data: { userId: "u1", from: "user", to: "admin", by: "root", epoch: 1 },
    };
    expect(
      events(given(registered, first).when({ type: "ChangeRole", role: "user", by: "root" })),
    ).toEqual([
      {
        type: "RoleChanged",
        data: { userId: "u1", from: "admin", to: "user", by: "root", epoch: 2 },
      },
    ]);
    expect(foldUser([registered, first])).toMatchObject({ role: "admin", epoch: 1 });
  });

  test("changing to the role the user has is a no-op", () => {
    expect(
      events(given(registered).when({ type: "ChangeRole", role: "user", by: "root" })),
    ).toEqual([]);
  });

  test("an unknown user cannot change role", () => {
    expect(error(given().when({ type: "ChangeRole", role: "admin", by: "root" }))._tag).toBe(
      "UserNotFound",
    );
  });
});

describe("password change and logout everywhere", () => {
  test("a password change stores the new hash and advances the epoch", () => {
    const decided = events(
      given(registered).when({ type: "ChangePassword", passwordHash: "$argon2id$new" }),
    );
    expect(decided).toEqual([
      { type: "PasswordChanged", data: { userId: "u1", passwordHash: "$argon2id$new", epoch: 1 } },
    ]);
    expect(foldUser([registered, ...decided])).toMatchObject({
      passwordHash: "$argon2id$new",
      epoch: 1,
    });
  });

  test("revoking all sessions advances the epoch with the reason", () => {
    const decided = events(
      given(registered).when({ type: "RevokeAllSessions", reason: "logout-all" }),
    );
    expect(decided).toEqual([
      { type: "AllSessionsRevoked", data: { userId: "u1", epoch: 1, reason: "logout-all" } },
    ]);
    expect(foldUser([registered, ...decided])).toMatchObject({ epoch: 1 });
  });

  test("an unknown user cannot change password or log out everywhere", () => {
    expect(error(given().when({ type: "ChangePassword", passwordHash: "x" }))._tag).toBe(
      "UserNotFound",
    );
    expect(error(given().when({ type: "RevokeAllSessions", reason: "x" }))._tag).toBe(
      "UserNotFound",
    );
  });
});

describe("token revocation", () => {
  const revoke = {
    type: "RevokeToken",
    tokenId: "j1",
    kind: "access",
    expiresAt: 2_000,
    reason: "logout",
  } as const;

  test("a live token is blacklisted until it expires", () => {
    expect(events(given(registered).when({ ...revoke, now: 1_000 }))).toEqual([
      {
        type: "TokenRevoked",
        data: { userId: "u1", tokenId: "j1", kind: "access", expiresAt: 2_000, reason: "logout" },
      },
    ]);
  });

  test("an expired token needs no revocation", () => {
    expect(events(given(registered).when({ ...revoke, now: 2_000 }))).toEqual([]);
  });

  test("revoking a token does not move the epoch", () => {
    const decided = events(given(registered).when({ ...revoke, now: 1_000 }));
    expect(foldUser([registered, ...decided])).toMatchObject({ epoch: 0 });
  });
});

describe("epochs", () => {
  // The rebuild reads only the newest epoch event of each user, so this must hold.
  test("each epoch event in a user's stream carries a higher epoch than the one before", () => {
    const commands: UserCommand[] = [
      register,
      { type: "ChangeRole", role: "admin", by: "root" },
      { type: "RevokeToken", tokenId: "t", kind: "access", expiresAt: 9, reason: "x", now: 1 },
      { type: "ChangePassword", passwordHash: "$argon2id$g" },
      { type: "RevokeAllSessions", reason: "logout-all" },
      { type: "ChangeRole", role: "user", by: "root" },
      { type: "RevokeAllSessions", reason: "logout-all" },
    ];
    const stream: UserEvent[] = [];
    for (const command of commands) stream.push(...events(given(...stream).when(command)));
    const epochs = stream.flatMap((event) =>
      event.type === "UserRegistered" ? [0] : "epoch" in event.data ? [event.data.epoch] : [],
    );
    expect(epochs).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

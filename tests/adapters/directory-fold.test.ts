import { expect, test } from "bun:test";
import { makeFold } from "../../src/adapters/postgres/directoryBatch.ts";
import type { DirectoryWrite } from "../../src/application/ports/Directory.ts";

const user = (id: string): DirectoryWrite => ({
  kind: "user",
  id,
  username: id,
  role: "user",
  createdAt: 1,
});

const session = (id: string, userId: string): DirectoryWrite => ({
  kind: "session",
  id,
  userId,
  createdAt: 2,
  expiresAt: 3,
  ip: null,
  userAgent: null,
});

test("a fold holds a row while the log touches it and gives it out once idle, changed in place", () => {
  const fold = makeFold({ writes: 2, rows: 10 });
  fold.add([user("u"), session("s", "u")]);
  expect(fold.take().sessions).toEqual([]);
  fold.add([{ kind: "rotate", sessionId: "s", at: 5, expiresAt: 9 }, user("v"), user("w")]);
  fold.add([user("x")]);
  const out = fold.take();
  expect(out.users.map((u) => u.id)).toEqual(["u", "v"]);
  expect(out.sessions).toMatchObject([{ id: "s", lastUsedAt: 5, expiresAt: 9 }]);
  expect(out.rotations.size).toBe(0);
});

test("a fold holds at most `rows` rows: the least recently touched go first", () => {
  const fold = makeFold({ writes: 1_000, rows: 4 });
  fold.add(Array.from({ length: 10 }, (_, i) => user(`u${i}`)));
  fold.add([{ kind: "role", userId: "u0", role: "admin" }]);
  const out = fold.take();
  expect(out.users.map((u) => u.id)).toEqual(["u1", "u2", "u3", "u4", "u5", "u6"]);
  expect(fold.drain().users.map((u) => [u.id, u.order])).toEqual([
    ["u0", 1],
    ["u7", 8],
    ["u8", 9],
    ["u9", 10],
  ]);
});

test("writes for rows given out become changes, and an epoch end reaches only sessions before it", () => {
  const fold = makeFold();
  fold.add([user("u"), session("s1", "u")]);
  fold.drain();
  fold.add([
    { kind: "role", userId: "u", role: "admin" },
    { kind: "endSessions", userId: "u" },
    session("s2", "u"),
    { kind: "endSession", sessionId: "s1" },
  ]);
  const out = fold.drain();
  expect(out.roles.get("u")).toBe("admin");
  expect([...out.endedUsers]).toEqual(["u"]);
  expect([...out.endedSessions]).toEqual(["s1"]);
  expect(out.sessions).toMatchObject([{ id: "s2", ended: false }]);
  expect(out.logins.get("u")).toBe(2);
  const next = fold.drain();
  expect(next.roles.size + next.endedUsers.size + next.sessions.length).toBe(0);
});

test("while writes keep reaching rows given out, a fold holds idle rows longer", () => {
  const fold = makeFold({ writes: 2, rows: 1_000 });
  const ids = Array.from({ length: 20 }, (_, i) => `u${i}`);
  fold.add(ids.map(user));
  expect(fold.take().users).toHaveLength(18);
  fold.add(ids.slice(0, 9).map((id) => ({ kind: "role", userId: id, role: "admin" })));
  expect(fold.take().roles.size).toBe(9);
  // Idle for 2 writes gave a row out before; the window is now 4.
  fold.add([user("a"), user("b"), user("c")]);
  expect(fold.take().users).toEqual([]);
  fold.add([user("d"), user("e")]);
  expect(fold.take().users.map((u) => u.id)).toEqual(["a"]);
});

test("a fold's bound counts users and sessions together, the least recently touched first", () => {
  const fold = makeFold({ writes: 1_000, rows: 4 });
  fold.add([user("u0"), user("u1"), user("u2")]);
  fold.add([session("s0", "x"), session("s1", "x"), session("s2", "x")]);
  const out = fold.take();
  expect(out.users.map((u) => u.id)).toEqual(["u0", "u1"]);
  expect(out.sessions).toEqual([]);
});

test("a fold keeps nothing of the users and sessions it gave out", () => {
  Bun.gc(true);
  const before = process.memoryUsage().heapUsed;
  const fold = makeFold({ writes: 10, rows: 1_000 });
  for (let first = 0; first < 300_000; first += 10_000) {
    fold.add(Array.from({ length: 10_000 }, (_, i) => session(`s${first + i}`, `u${first + i}`)));
    fold.take();
  }
  fold.drain();
  Bun.gc(true);
  // Held, each of these sessions and its user's index took a few hundred bytes.
  expect(process.memoryUsage().heapUsed - before).toBeLessThan(30_000_000);
  expect(fold.drain().sessions).toEqual([]);
});

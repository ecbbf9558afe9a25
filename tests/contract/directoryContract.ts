import { describe, expect, test } from "bun:test";
import { Effect, Exit, Scope } from "effect";
import type { Directory, DirectoryWrite, UserPage } from "../../src/application/ports/Directory.ts";

type Service = Directory["Service"];

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect);

const now = 1_000_000;

const user = (id: string, username = id): DirectoryWrite => ({
  kind: "user",
  id,
  username,
  role: "user",
  createdAt: now,
});

const session = (id: string, userId: string, createdAt = now): DirectoryWrite => ({
  kind: "session",
  id,
  userId,
  createdAt,
  expiresAt: now + 60_000,
  ip: "203.0.113.1",
  userAgent: "agent",
});

/** A build held until `done` is called. */
const begin = async (directory: Service) => {
  const scope = await run(Scope.make());
  const build = await run(Scope.provide(directory.build, scope));
  return { ...build, done: () => run(Scope.close(scope, Exit.void)) };
};

/**
 * What every Directory adapter must do; `open` gives a fresh, empty one, `stored` counts the
 * rows the last one opened holds in storage, whatever their generation.
 */
export const directoryContract = (
  name: string,
  open: () => Promise<Service>,
  stored: () => Promise<number>,
) =>
  describe(`Directory contract: ${name}`, () => {
    const published = async (writes: readonly DirectoryWrite[] = []) => {
      const directory = await open();
      const build = await begin(directory);
      await run(build.write(writes));
      await run(build.publish("c1"));
      await build.done();
      return directory;
    };

    test("a new directory has no checkpoint and lists nobody", async () => {
      const directory = await open();
      expect(await run(directory.checkpoint)).toBeNull();
      expect((await run(directory.users({ limit: 10 }, now))).items).toEqual([]);
    });

    test("a build is invisible until published, then replaces the old generation whole", async () => {
      const directory = await published([user("a")]);
      const build = await begin(directory);
      await run(build.write([user("b")]));
      expect((await run(directory.users({ limit: 10 }, now))).items.map((u) => u.id)).toEqual([
        "a",
      ]);
      await run(build.publish("c2"));
      await build.done();
      expect(await run(directory.checkpoint)).toBe("c2");
      expect((await run(directory.users({ limit: 10 }, now))).items.map((u) => u.id)).toEqual([
        "b",
      ]);
    });

    test("advance writes only from the current checkpoint, and moves it", async () => {
      const directory = await published();
      expect(await run(directory.advance("c1", "c2", [user("a")]))).toBe(true);
      expect(await run(directory.advance("c1", "c3", [user("b")]))).toBe(false);
      expect(await run(directory.checkpoint)).toBe("c2");
      expect((await run(directory.users({ limit: 10 }, now))).items.map((u) => u.id)).toEqual([
        "a",
      ]);
    });

    test("users page in creation order; q is a case-insensitive substring; role and status filter", async () => {
      const directory = await published([
        user("1", "Alice"),
        user("2", "bob"),
        user("3", "malice"),
        { kind: "role", userId: "3", role: "admin" },
        { kind: "disable", userId: "2", until: null },
        { kind: "disable", userId: "1", until: now - 1 },
      ]);
      const first = await run(directory.users({ limit: 2 }, now));
      expect(first.items.map((u) => u.id)).toEqual(["1", "2"]);
      expect(first.next).not.toBeNull();
      const rest = await run(directory.users({ limit: 2, after: first.next ?? 0 }, now));
      expect(rest.items.map((u) => u.id)).toEqual(["3"]);
      expect(rest.next).toBeNull();
      const ids = async (query: Parameters<Service["users"]>[0]) =>
        (await run(directory.users(query, now))).items.map((u) => u.id);
      expect(await ids({ limit: 10, q: "ALIC" })).toEqual(["1", "3"]);
      expect(await ids({ limit: 10, q: "%" })).toEqual([]);
      expect(await ids({ limit: 10, q: "a_i" })).toEqual([]);
      expect(await ids({ limit: 10, role: "admin" })).toEqual(["3"]);
      expect(await ids({ limit: 10, status: "disabled" })).toEqual(["2"]);
      expect(await ids({ limit: 10, status: "active" })).toEqual(["1", "3"]);
    });

    test("live sessions: newest first, ended and epoch-ended ones gone, rotation recorded", async () => {
      const directory = await published([
        user("u"),
        session("old", "u", now - 10),
        { kind: "endSessions", userId: "u" },
        session("s1", "u", now - 5),
        session("s2", "u", now - 1),
        session("s3", "u", now),
        { kind: "rotate", sessionId: "s1", at: now - 2, expiresAt: now + 90_000 },
        { kind: "endSession", sessionId: "s3" },
      ]);
      const sessions = await run(directory.sessions("u", now));
      expect(sessions.map((s) => s.id)).toEqual(["s2", "s1"]);
      expect(sessions[1]).toMatchObject({ lastUsedAt: now - 2, expiresAt: now + 90_000 });
      expect(sessions[0]).toMatchObject({
        lastUsedAt: null,
        ip: "203.0.113.1",
        userAgent: "agent",
      });
      expect(await run(directory.sessions("u", now + 70_000))).toHaveLength(1);
      const listed = await run(directory.user("u", now));
      expect(listed).toMatchObject({ sessions: 2, lastLoginAt: now, status: "active" });
      expect(await run(directory.user("nobody", now))).toBeNull();
    });

    test("writes in later batches change the rows of earlier ones; an epoch end spares later sessions", async () => {
      const directory = await open();
      const build = await begin(directory);
      await run(
        build.write([
          user("u"),
          user("v"),
          session("s1", "u", now - 10),
          session("s2", "u", now - 9),
          session("s4", "v", now - 8),
        ]),
      );
      await run(
        build.write([
          { kind: "role", userId: "u", role: "admin" },
          { kind: "disable", userId: "v", until: null },
          { kind: "endSessions", userId: "u" },
          session("s3", "u", now - 1),
          { kind: "rotate", sessionId: "s4", at: now - 2, expiresAt: now + 90_000 },
        ]),
      );
      await run(build.write([session("s5", "u", now), { kind: "endSession", sessionId: "s3" }]));
      await run(build.publish("c1"));
      await build.done();
      expect(await run(directory.user("u", now))).toMatchObject({
        role: "admin",
        status: "active",
        lastLoginAt: now,
        sessions: 1,
      });
      expect((await run(directory.sessions("u", now))).map((s) => s.id)).toEqual(["s5"]);
      expect(await run(directory.user("v", now))).toMatchObject({ status: "disabled" });
      expect(await run(directory.sessions("v", now))).toMatchObject([
        { id: "s4", lastUsedAt: now - 2, expiresAt: now + 90_000 },
      ]);
      expect(await run(directory.advance("c1", "c2", [{ kind: "enable", userId: "v" }]))).toBe(
        true,
      );
      expect(await run(directory.user("v", now))).toMatchObject({ status: "active" });
    });

    test("a build lists users in creation order, also when early ones change in later writes", async () => {
      const directory = await open();
      const build = await begin(directory);
      await run(build.write([user("b"), user("c"), { kind: "role", userId: "b", role: "admin" }]));
      await run(build.write([user("d"), session("s1", "b"), { kind: "enable", userId: "c" }]));
      await run(build.write([user("e")]));
      await run(build.publish("c1"));
      await build.done();
      const page = await run(directory.users({ limit: 2 }, now));
      expect(page.items.map((u) => u.id)).toEqual(["b", "c"]);
      const rest = await run(directory.users({ limit: 10, after: page.next ?? 0 }, now));
      expect(rest.items.map((u) => u.id)).toEqual(["d", "e"]);
      expect(await run(directory.user("b", now))).toMatchObject({ role: "admin", sessions: 1 });
    });

    test("an erased user leaves no row, erased in the batch that made them or in a later one", async () => {
      const directory = await open();
      const build = await begin(directory);
      await run(build.write([user("u"), session("s1", "u"), user("v"), session("s2", "v")]));
      await run(build.write([user("w"), session("s3", "w"), { kind: "forget", userId: "w" }]));
      await run(build.write([{ kind: "forget", userId: "u" }]));
      await run(build.publish("c1"));
      await build.done();
      const ids = async () =>
        (await run(directory.users({ limit: 10 }, now))).items.map((u) => u.id);
      expect(await ids()).toEqual(["v"]);
      expect(await run(directory.sessions("u", now))).toEqual([]);
      expect(await run(directory.sessions("w", now))).toEqual([]);
      expect(await run(directory.advance("c1", "c2", [{ kind: "forget", userId: "v" }]))).toBe(
        true,
      );
      expect(await ids()).toEqual([]);
      expect(await run(directory.sessions("v", now))).toEqual([]);
    });

    test("a build that never published leaves no row once the next build starts", async () => {
      const directory = await published([user("a"), session("s", "a")]);
      const failed = await begin(directory);
      await run(failed.write([user("b"), user("c"), session("t", "b")]));
      await run(failed.write([user("d")]));
      await failed.done();
      const next = await begin(directory);
      await run(next.write([user("e")]));
      await run(next.publish("c2"));
      await next.done();
      expect(await stored()).toBe(1);
      expect((await run(directory.users({ limit: 10 }, now))).items.map((u) => u.id)).toEqual([
        "e",
      ]);
    });

    test("one build at a time: a second fails DirectoryRebuilding until the first ends", async () => {
      const directory = await open();
      const first = await begin(directory);
      const second = await run(Effect.exit(Effect.scoped(directory.build)));
      expect(Exit.isFailure(second) && JSON.stringify(second.cause)).toContain(
        "DirectoryRebuilding",
      );
      await first.done();
      const third = await begin(directory);
      await run(third.publish("c1"));
      await third.done();
      expect(await run(directory.checkpoint)).toBe("c1");
    });

    test("a build keeps text as written: tabs, newlines, backslashes and empty strings", async () => {
      const odd = "a\tb\nc\\d\re \\N";
      const started = (
        id: string,
        createdAt: number,
        ip: string | null,
        userAgent: string | null,
      ) =>
        ({
          kind: "session",
          id,
          userId: "a",
          createdAt,
          expiresAt: now + 60_000,
          ip,
          userAgent,
        }) as const;
      const directory = await published([
        user("a", "odd\\name"),
        started("s1", now, "", odd),
        started("s2", now + 1, null, null),
      ]);
      const [listed] = (await run(directory.users({ limit: 10 }, now))).items;
      expect(listed?.username).toBe("odd\\name");
      const sessions = await run(directory.sessions("a", now));
      expect(sessions.map((s) => [s.ip, s.userAgent])).toEqual([
        [null, null],
        ["", odd],
      ]);
    });

    test("a write applied twice changes nothing more", async () => {
      const writes = [user("a"), session("s", "a")];
      const directory = await published([...writes, ...writes]);
      expect((await run(directory.users({ limit: 10 }, now))).items).toHaveLength(1);
      expect(await run(directory.sessions("a", now))).toHaveLength(1);
    });

    test("500 users in pages of 37 while others register: none twice, none that existed skipped", async () => {
      const first = Array.from({ length: 500 }, (_, i) => `first-${i}`);
      const directory = await published(first.map((id) => user(id)));
      const seen: string[] = [];
      let after: number | null = 0;
      let checkpoint = "c1";
      let added = 0;
      while (after !== null) {
        const page: UserPage = await run(directory.users({ limit: 37, after }, now));
        seen.push(...page.items.map((u) => u.id));
        after = page.next;
        const next = `c${++added + 1}`;
        expect(await run(directory.advance(checkpoint, next, [user(`late-${added}`)]))).toBe(true);
        checkpoint = next;
      }
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.slice(0, 500)).toEqual(first);
      expect(seen.length).toBeGreaterThan(500);
    });
  });

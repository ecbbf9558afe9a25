import { beforeEach, describe, expect, test } from "bun:test";
import { Effect } from "effect";
import {
  ProjectionLost,
  type ProjectionWrite,
  type TokenState,
} from "../../src/application/ports/TokenState.ts";
import type { ContractTime } from "./contractTime.ts";

type Service = TokenState["Service"];

/** The behaviour every TokenState adapter must show; `fresh` yields an empty projection on `time`. */
export const tokenStateContract = (
  name: string,
  time: ContractTime,
  fresh: () => Promise<Service>,
  /** Empties the store behind `state`, as a Redis restarted without persistence is. */
  lose?: (state: Service) => Promise<void>,
) =>
  describe(`TokenState contract: ${name}`, () => {
    let state: Service;
    const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect);
    const failure = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(Effect.flip(effect));
    const now = time.now();
    const later = now + 60_000;

    beforeEach(async () => {
      state = await fresh();
    });

    test("an unknown user has no epoch and nothing revoked", async () => {
      expect(await run(state.lookup("u1", "j1", "s1"))).toEqual({
        epoch: null,
        tokenRevoked: false,
        sessionRevoked: false,
      });
    });

    test("lookupNow answers what lookup answers, for many at once", async () => {
      await run(
        state.apply(
          [
            { kind: "epoch", userId: "u1", epoch: 2 },
            { kind: "revokeToken", userId: "u1", tokenId: "j1", expiresAt: later },
            { kind: "revokeSession", userId: "u2", sessionId: "s2", expiresAt: later },
          ],
          now,
        ),
      );
      const asked = [
        ["u1", "j1", "s1"],
        ["u1", "j2", "s1"],
        ["u2", "j9", "s2"],
        ["u3", "j3", "s3"],
      ] as const;
      const promised = await Promise.all(asked.map(([u, j, s]) => state.lookupNow(u, j, s)));
      const effected = await Promise.all(asked.map(([u, j, s]) => run(state.lookup(u, j, s))));
      expect(promised).toEqual(effected);
      expect(
        promised.map((status) => [status.epoch, status.tokenRevoked, status.sessionRevoked]),
      ).toEqual([
        [2, true, false],
        [2, false, false],
        [null, false, true],
        [null, false, false],
      ]);
    });

    test("a registered user has epoch 0", async () => {
      await run(state.apply([{ kind: "epoch", userId: "u1", epoch: 0 }], now));
      expect((await run(state.lookup("u1", "j1", "s1"))).epoch).toBe(0);
    });

    test("epochs only move up, whatever order the writes come in", async () => {
      await run(state.apply([{ kind: "epoch", userId: "u1", epoch: 3 }], now));
      await run(state.apply([{ kind: "epoch", userId: "u1", epoch: 1 }], now));
      expect((await run(state.lookup("u1", "j1", "s1"))).epoch).toBe(3);
      await run(state.apply([{ kind: "epoch", userId: "u1", epoch: 4 }], now));
      expect((await run(state.lookup("u1", "j1", "s1"))).epoch).toBe(4);
    });

    test("a revoked token and a revoked session are reported, others are not", async () => {
      await run(
        state.apply(
          [
            { kind: "epoch", userId: "u1", epoch: 0 },
            { kind: "revokeToken", userId: "u1", tokenId: "j1", expiresAt: later },
            { kind: "revokeSession", userId: "u1", sessionId: "s1", expiresAt: later },
          ],
          now,
        ),
      );
      expect(await run(state.lookup("u1", "j1", "s2"))).toEqual({
        epoch: 0,
        tokenRevoked: true,
        sessionRevoked: false,
      });
      expect(await run(state.lookup("u1", "j2", "s1"))).toEqual({
        epoch: 0,
        tokenRevoked: false,
        sessionRevoked: true,
      });
    });

    test("applying the same writes twice changes nothing", async () => {
      const writes = [
        { kind: "epoch", userId: "u1", epoch: 2 },
        { kind: "revokeSession", userId: "u1", sessionId: "s1", expiresAt: later },
      ] as const;
      await run(state.apply(writes, now));
      const once = await run(state.lookup("u1", "j1", "s1"));
      await run(state.apply(writes, now));
      expect(await run(state.lookup("u1", "j1", "s1"))).toEqual(once);
    });

    test("an already expired revocation is skipped", async () => {
      const written = await run(
        state.apply(
          [{ kind: "revokeToken", userId: "u1", tokenId: "j1", expiresAt: now - 1 }],
          now,
        ),
      );
      expect(written).toBe(0);
      expect((await run(state.lookup("u1", "j1", "s1"))).tokenRevoked).toBe(false);
    });

    test("a revocation vanishes when the token would have expired", async () => {
      const soon = time.now() + 400;
      await run(
        state.apply([{ kind: "revokeToken", userId: "u1", tokenId: "j1", expiresAt: soon }], now),
      );
      expect((await run(state.lookup("u1", "j1", "s1"))).tokenRevoked).toBe(true);
      await time.advance(soon - time.now() + 50);
      expect((await run(state.lookup("u1", "j1", "s1"))).tokenRevoked).toBe(false);
    });

    test("thousands of writes for hundreds of users in one call all land", async () => {
      const users = Array.from({ length: 300 }, (_, i) => `bulk-${i}`);
      const writes: ProjectionWrite[] = users.flatMap((userId, u) => [
        { kind: "epoch", userId, epoch: u % 5 },
        ...Array.from(
          { length: 8 },
          (_, j): ProjectionWrite => ({
            kind: "revokeToken",
            userId,
            tokenId: `t${j}`,
            expiresAt: j === 7 ? now - 1 : later,
          }),
        ),
        { kind: "revokeSession", userId, sessionId: "s", expiresAt: later },
        { kind: "epoch", userId, epoch: (u % 5) + 1 },
      ]);
      await run(state.apply(writes, now));
      const seen = await Promise.all(
        users.map(async (userId, u) => ({
          epoch: (await run(state.lookup(userId, "t0", "s"))).epoch === (u % 5) + 1,
          revoked: (await run(state.lookup(userId, "t6", "s"))).tokenRevoked,
          session: (await run(state.lookup(userId, "none", "s"))).sessionRevoked,
          expired: (await run(state.lookup(userId, "t7", "x"))).tokenRevoked,
        })),
      );
      expect(seen.filter((user) => user.epoch && user.revoked && user.session)).toHaveLength(300);
      expect(seen.some((user) => user.expired)).toBe(false);
    });

    test("users do not see each other's entries", async () => {
      await run(
        state.apply(
          [
            { kind: "epoch", userId: "u1", epoch: 5 },
            { kind: "revokeSession", userId: "u1", sessionId: "s1", expiresAt: later },
          ],
          now,
        ),
      );
      expect(await run(state.lookup("u2", "j1", "s9"))).toEqual({
        epoch: null,
        tokenRevoked: false,
        sessionRevoked: false,
      });
    });

    test("an empty projection has no marker; open makes one generation, the first asker's", async () => {
      expect(await run(state.marker)).toBeNull();
      expect(await run(state.open("g1"))).toEqual({ generation: "g1", checkpoint: null });
      expect(await run(state.open("g2"))).toEqual({ generation: "g1", checkpoint: null });
      expect(await run(state.marker)).toEqual({ generation: "g1", checkpoint: null });
    });

    test("instances opening at once all get the same generation", async () => {
      const opened = await Promise.all(
        Array.from({ length: 20 }, (_, i) => run(state.open(`g${i}`))),
      );
      expect(new Set(opened.map((marker) => marker.generation)).size).toBe(1);
    });

    test("the checkpoint of the current generation round-trips; another's is refused", async () => {
      await run(state.open("g1"));
      await run(state.saveCheckpoint("g1", "42:7"));
      expect(await run(state.marker)).toEqual({ generation: "g1", checkpoint: "42:7" });
      expect(await failure(state.saveCheckpoint("g0", "99:9"))).toBeInstanceOf(ProjectionLost);
      expect((await run(state.marker))?.checkpoint).toBe("42:7");
    });

    test("writes of the current generation land, writes of another change nothing", async () => {
      await run(state.open("g1"));
      const write: ProjectionWrite = { kind: "epoch", userId: "u1", epoch: 1 };
      expect(await run(state.applyIn("g1", [write], now))).toBe(1);
      expect((await run(state.lookup("u1", "j", "s"))).epoch).toBe(1);
      const stale = await failure(state.applyIn("g0", [{ ...write, epoch: 2 }], now));
      expect(stale).toBeInstanceOf(ProjectionLost);
      expect((await run(state.lookup("u1", "j", "s"))).epoch).toBe(1);
    });

    if (lose)
      test("after the projection is lost, its generation writes nothing and a new one starts", async () => {
        await run(state.open("g1"));
        await run(state.saveCheckpoint("g1", "1:1:"));
        await lose(state);
        expect(await run(state.marker)).toBeNull();
        const revoke: ProjectionWrite = {
          kind: "revokeToken",
          userId: "u1",
          tokenId: "j1",
          expiresAt: later,
        };
        expect(await failure(state.applyIn("g1", [revoke], now))).toBeInstanceOf(ProjectionLost);
        expect(await failure(state.saveCheckpoint("g1", "2:2:"))).toBeInstanceOf(ProjectionLost);
        expect(await run(state.lookup("u1", "j1", "s"))).toEqual({
          epoch: null,
          tokenRevoked: false,
          sessionRevoked: false,
        });
        expect(await run(state.open("g2"))).toEqual({ generation: "g2", checkpoint: null });
      });
  });

import { beforeEach, describe, expect, test } from "bun:test";
import { Effect } from "effect";
import type { ProjectionWrite, TokenState } from "../../src/application/ports/TokenState.ts";

type Service = TokenState["Service"];

/** The behaviour every TokenState adapter must show; `fresh` yields an empty projection. */
export const tokenStateContract = (name: string, fresh: () => Promise<Service>) =>
  describe(`TokenState contract: ${name}`, () => {
    let state: Service;
    const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect);
    const now = Date.now();
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
      const soon = Date.now() + 400;
      await run(
        state.apply([{ kind: "revokeToken", userId: "u1", tokenId: "j1", expiresAt: soon }], now),
      );
      expect((await run(state.lookup("u1", "j1", "s1"))).tokenRevoked).toBe(true);
      await Bun.sleep(soon - Date.now() + 50);
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

    test("the checkpoint is null until saved, then round-trips", async () => {
      expect(await run(state.checkpoint)).toBeNull();
      await run(state.saveCheckpoint(""));
      expect(await run(state.checkpoint)).toBe("");
      await run(state.saveCheckpoint("42:7"));
      expect(await run(state.checkpoint)).toBe("42:7");
    });
  });

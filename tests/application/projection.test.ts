import { describe, expect, test } from "bun:test";
import {
  type DomainEvent,
  epochTypes,
  projectEvent,
  revocationGraceMs,
  revocationTypes,
} from "../../src/application/projection.ts";

const samples: DomainEvent[] = [
  {
    type: "UserRegistered",
    data: { userId: "u", username: "alice", passwordHash: "h", role: "user" },
  },
  { type: "RoleChanged", data: { userId: "u", from: "user", to: "admin", by: "a", epoch: 1 } },
  { type: "PasswordChanged", data: { userId: "u", passwordHash: "h2", epoch: 2 } },
  { type: "AllSessionsRevoked", data: { userId: "u", epoch: 3, reason: "logout-all" } },
  {
    type: "TokenRevoked",
    data: { userId: "u", tokenId: "j", kind: "access", expiresAt: 9, reason: "x" },
  },
  {
    type: "SessionStarted",
    data: { sessionId: "s", userId: "u", refreshTokenId: "r", startedAt: 1, expiresAt: 9 },
  },
  {
    type: "RefreshTokenRotated",
    data: {
      sessionId: "s",
      previousRefreshTokenId: "r",
      nextRefreshTokenId: "r2",
      rotatedAt: 2,
      expiresAt: 9,
    },
  },
  { type: "SessionRevoked", data: { sessionId: "s", userId: "u", expiresAt: 9, reason: "logout" } },
];

describe("the token projection", () => {
  test("registration sets epoch 0; each epoch-moving event sets its epoch", () => {
    expect(samples.slice(0, 4).map((e) => projectEvent(e))).toEqual([
      [{ kind: "epoch", userId: "u", epoch: 0 }],
      [{ kind: "epoch", userId: "u", epoch: 1 }],
      [{ kind: "epoch", userId: "u", epoch: 2 }],
      [{ kind: "epoch", userId: "u", epoch: 3 }],
    ]);
  });

  test("revocations are kept a grace past their token's expiry, under the user whose keys they join", () => {
    const until = 9 + revocationGraceMs;
    expect(revocationGraceMs).toBeGreaterThanOrEqual(5_000);
    expect(projectEvent(samples[4] as DomainEvent)).toEqual([
      { kind: "revokeToken", userId: "u", tokenId: "j", expiresAt: until },
    ]);
    expect(projectEvent(samples[7] as DomainEvent)).toEqual([
      { kind: "revokeSession", userId: "u", sessionId: "s", expiresAt: until },
    ]);
  });

  test("the rebuild's two passes cover exactly the events that write, each in its own pass", () => {
    for (const event of samples) {
      const kinds = projectEvent(event).map((w) => w.kind);
      const inRevocations = (revocationTypes as readonly string[]).includes(event.type);
      const inEpochs = (epochTypes as readonly string[]).includes(event.type);
      expect(inRevocations).toBe(kinds.some((k) => k !== "epoch"));
      expect(inEpochs).toBe(kinds.includes("epoch"));
    }
  });
});

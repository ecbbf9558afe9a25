import { describe, expect, test } from "bun:test";
import {
  decideSession,
  foldSession,
  isLiveSession,
  type SessionCommand,
} from "../../src/domain/session/Session.ts";
import type { SessionEvent } from "../../src/domain/session/SessionEvents.ts";
import { error, events } from "../support/decision.ts";

const given = (...events: SessionEvent[]) => ({
  when: (command: SessionCommand) => decideSession(command, foldSession(events)),
});

const started: SessionEvent = {
  type: "SessionStarted",
  data: {
    sessionId: "s1",
    userId: "u1",
    refreshTokenId: "r1",
    startedAt: 1_000,
    expiresAt: 100_000,
    epoch: 0,
    ip: null,
    userAgent: null,
  },
};

const rotated: SessionEvent = {
  type: "RefreshTokenRotated",
  data: {
    sessionId: "s1",
    previousRefreshTokenId: "r1",
    nextRefreshTokenId: "r2",
    rotatedAt: 5_000,
    expiresAt: 105_000,
  },
};

const rotate = (presented: string, now: number, graceMs = 10_000): SessionCommand => ({
  type: "RotateRefreshToken",
  presented,
  next: "r3",
  now,
  expiresAt: now + 100_000,
  graceMs,
});

const revokedFor = (reason: string, expiresAt = 105_000): SessionEvent => ({
  type: "SessionRevoked",
  data: { sessionId: "s1", userId: "u1", expiresAt, reason },
});

describe("session start", () => {
  test("a login starts a session with its first refresh token", () => {
    const command: SessionCommand = {
      type: "StartSession",
      sessionId: "s1",
      userId: "u1",
      refreshTokenId: "r1",
      now: 1_000,
      expiresAt: 100_000,
      epoch: 0,
      ip: null,
      userAgent: null,
    };
    expect(events(given().when(command))).toEqual([started]);
    expect(error(given(started).when(command))._tag).toBe("SessionAlreadyStarted");
  });

  test("a session records where it came from, the User-Agent cut to 256 characters", () => {
    const command: SessionCommand = {
      type: "StartSession",
      sessionId: "s1",
      userId: "u1",
      refreshTokenId: "r1",
      now: 1_000,
      expiresAt: 100_000,
      epoch: 3,
      ip: "203.0.113.9",
      userAgent: "x".repeat(300),
    };
    const [event] = events(given().when(command));
    expect(event?.type === "SessionStarted" && event.data).toMatchObject({
      ip: "203.0.113.9",
      epoch: 3,
      userAgent: "x".repeat(256),
    });
  });
});

describe("refresh token rotation", () => {
  test("the current refresh token rotates to the next one", () => {
    expect(events(given(started, rotated).when(rotate("r2", 6_000)))).toEqual([
      {
        type: "RefreshTokenRotated",
        data: {
          sessionId: "s1",
          previousRefreshTokenId: "r2",
          nextRefreshTokenId: "r3",
          rotatedAt: 6_000,
          expiresAt: 106_000,
        },
      },
    ]);
  });

  test("the immediately previous token within the grace window changes nothing", () => {
    expect(events(given(started, rotated).when(rotate("r1", 15_000)))).toEqual([]);
  });

  test("the previous token after the grace window is reuse and revokes the session", () => {
    expect(events(given(started, rotated).when(rotate("r1", 15_001)))).toEqual([
      revokedFor("refresh-reuse"),
    ]);
  });

  test("a grace window of 0 disables the grace", () => {
    expect(events(given(started, rotated).when(rotate("r1", 5_000, 0)))).toEqual([
      revokedFor("refresh-reuse"),
    ]);
  });

  test("an older token than the previous one is reuse even inside the window", () => {
    const second: SessionEvent = {
      type: "RefreshTokenRotated",
      data: {
        sessionId: "s1",
        previousRefreshTokenId: "r2",
        nextRefreshTokenId: "r3",
        rotatedAt: 6_000,
        expiresAt: 106_000,
      },
    };
    expect(events(given(started, rotated, second).when(rotate("r1", 6_500)))).toEqual([
      revokedFor("refresh-reuse", 106_000),
    ]);
  });

  test("an unknown token id is reuse", () => {
    expect(events(given(started).when(rotate("forged", 2_000)))).toEqual([
      revokedFor("refresh-reuse", 100_000),
    ]);
  });

  test("a revoked session never rotates, not even with its current token", () => {
    expect(
      error(given(started, rotated, revokedFor("logout")).when(rotate("r2", 6_000)))._tag,
    ).toBe("SessionEnded");
  });

  test("an expired session never rotates", () => {
    expect(error(given(started).when(rotate("r1", 100_000)))._tag).toBe("SessionEnded");
  });

  test("an unknown session cannot rotate", () => {
    expect(error(given().when(rotate("r1", 2_000)))._tag).toBe("SessionNotFound");
  });
});

describe("session revocation", () => {
  test("logout revokes the session until its last token would expire", () => {
    expect(
      events(given(started, rotated).when({ type: "RevokeSession", reason: "logout" })),
    ).toEqual([revokedFor("logout")]);
  });

  test("revoking twice appends nothing the second time", () => {
    expect(
      events(
        given(started, revokedFor("logout")).when({ type: "RevokeSession", reason: "logout" }),
      ),
    ).toEqual([]);
  });

  test("a session that never started cannot be revoked", () => {
    expect(error(given().when({ type: "RevokeSession", reason: "logout" }))._tag).toBe(
      "SessionNotFound",
    );
  });
});

describe("live sessions", () => {
  test("started in the user's epoch: live until it expires; an epoch later, not", () => {
    const session = foldSession([started]);
    expect(isLiveSession(session, 0, 50_000)).toBe(true);
    expect(isLiveSession(session, 1, 50_000)).toBe(false);
    expect(isLiveSession(session, 0, 100_000)).toBe(false);
  });

  test("a session whose start recorded no epoch stays listable and endable", () => {
    if (started.type !== "SessionStarted") throw new Error("the fixture starts a session");
    const { epoch: _, ...older } = started.data;
    const session = foldSession([{ type: "SessionStarted", data: older }]);
    expect(isLiveSession(session, 4, 50_000)).toBe(true);
  });
});

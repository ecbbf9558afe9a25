export type SessionStarted = {
  readonly type: "SessionStarted";
  readonly data: {
    readonly sessionId: string;
    readonly userId: string;
    readonly refreshTokenId: string;
    readonly startedAt: number;
    readonly expiresAt: number;
    /** The user's epoch at login; absent in sessions started before it was recorded. */
    readonly epoch?: number;
    readonly ip?: string | null;
    /** At most `userAgentMaxLength` characters. */
    readonly userAgent?: string | null;
  };
};

export const userAgentMaxLength = 256;

export type RefreshTokenRotated = {
  readonly type: "RefreshTokenRotated";
  readonly data: {
    readonly sessionId: string;
    readonly previousRefreshTokenId: string;
    readonly nextRefreshTokenId: string;
    readonly rotatedAt: number;
    readonly expiresAt: number;
  };
};

export type SessionRevoked = {
  readonly type: "SessionRevoked";
  readonly data: {
    readonly sessionId: string;
    readonly userId: string;
    /** When the session's last token expires by itself: the blacklist entry may go then. */
    readonly expiresAt: number;
    readonly reason: string;
  };
};

export type SessionEvent = SessionStarted | RefreshTokenRotated | SessionRevoked;

export const sessionEventTypes: ReadonlySet<string> = new Set<SessionEvent["type"]>([
  "SessionStarted",
  "RefreshTokenRotated",
  "SessionRevoked",
]);

export const sessionStarted: SessionStarted["type"] = "SessionStarted";

export const sessionStream = (sessionId: string): string => `session-${sessionId}`;

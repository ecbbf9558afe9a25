import type { Role } from "../Role.ts";

export type TokenKind = "access" | "refresh";

export type UserRegistered = {
  readonly type: "UserRegistered";
  readonly data: {
    readonly userId: string;
    readonly username: string;
    readonly passwordHash: string;
    readonly role: Role;
  };
};

export type RoleChanged = {
  readonly type: "RoleChanged";
  readonly data: {
    readonly userId: string;
    readonly from: Role;
    readonly to: Role;
    readonly by: string;
    readonly epoch: number;
  };
};

export type PasswordChanged = {
  readonly type: "PasswordChanged";
  readonly data: { readonly userId: string; readonly passwordHash: string; readonly epoch: number };
};

export type AllSessionsRevoked = {
  readonly type: "AllSessionsRevoked";
  readonly data: { readonly userId: string; readonly epoch: number; readonly reason: string };
};

export type TokenRevoked = {
  readonly type: "TokenRevoked";
  readonly data: {
    readonly userId: string;
    readonly tokenId: string;
    readonly kind: TokenKind;
    /** Epoch milliseconds at which the token expires by itself. */
    readonly expiresAt: number;
    readonly reason: string;
  };
};

export type UserDisabled = {
  readonly type: "UserDisabled";
  readonly data: {
    readonly userId: string;
    readonly reason: string;
    /** Epoch milliseconds from which the account works again by itself; null: until enabled. */
    readonly until: number | null;
    readonly by: string;
    readonly epoch: number;
  };
};

export type UserEnabled = {
  readonly type: "UserEnabled";
  readonly data: { readonly userId: string; readonly by: string };
};

/** Personal fields of the user's events can no longer be read: their data key is destroyed. */
export type UserErased = {
  readonly type: "UserErased";
  readonly data: { readonly userId: string; readonly by: string; readonly epoch: number };
};

export type UserEvent =
  | UserRegistered
  | RoleChanged
  | PasswordChanged
  | AllSessionsRevoked
  | TokenRevoked
  | UserDisabled
  | UserEnabled
  | UserErased;

export const userEventTypes: ReadonlySet<string> = new Set<UserEvent["type"]>([
  "UserRegistered",
  "RoleChanged",
  "PasswordChanged",
  "AllSessionsRevoked",
  "TokenRevoked",
  "UserDisabled",
  "UserEnabled",
  "UserErased",
]);

export const userStream = (userId: string): string => `user-${userId}`;

export const userIdOf = (streamId: string): string | null =>
  streamId.startsWith("user-") ? streamId.slice("user-".length) : null;

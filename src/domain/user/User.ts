import { accept, type Decision, fold, reject } from "../Decision.ts";
import type { Role } from "../Role.ts";
import {
  InvalidUsername,
  UserAlreadyRegistered,
  type UserError,
  UserNotFound,
} from "./UserErrors.ts";
import type { TokenKind, UserEvent } from "./UserEvents.ts";
import { isValidUsername } from "./Username.ts";

export type User =
  | { readonly status: "unregistered" }
  | { readonly status: "erased"; readonly id: string }
  | {
      readonly status: "active";
      readonly id: string;
      readonly username: string;
      readonly role: Role;
      readonly passwordHash: string;
      /** Tokens carry the epoch they were minted in; moving it up kills every older token. */
      readonly epoch: number;
      /** null: not disabled; `until` null: disabled until enabled. */
      readonly disabled: { readonly until: number | null } | null;
    };

export type ActiveUser = Extract<User, { status: "active" }>;

export const initialUser: User = { status: "unregistered" };

export const evolveUser = (state: User, event: UserEvent): User => {
  switch (event.type) {
    case "UserRegistered":
      return {
        status: "active",
        id: event.data.userId,
        username: event.data.username,
        role: event.data.role,
        passwordHash: event.data.passwordHash,
        epoch: 0,
        disabled: null,
      };
    case "RoleChanged":
      return state.status === "active"
        ? { ...state, role: event.data.to, epoch: event.data.epoch }
        : state;
    case "PasswordChanged":
      return state.status === "active"
        ? { ...state, passwordHash: event.data.passwordHash, epoch: event.data.epoch }
        : state;
    case "AllSessionsRevoked":
      return state.status === "active" ? { ...state, epoch: event.data.epoch } : state;
    case "TokenRevoked":
      return state;
    case "UserDisabled":
      return state.status === "active"
        ? { ...state, epoch: event.data.epoch, disabled: { until: event.data.until } }
        : state;
    case "UserEnabled":
      return state.status === "active" ? { ...state, disabled: null } : state;
    case "UserErased":
      return { status: "erased", id: event.data.userId };
  }
};

/** Disabled at `now`: a disable with an `until` lapses by itself. */
export const isDisabledAt = (user: ActiveUser, now: number): boolean =>
  user.disabled !== null && (user.disabled.until === null || user.disabled.until > now);

export const foldUser = fold(evolveUser, initialUser);

export type UserCommand =
  | {
      readonly type: "RegisterUser";
      readonly userId: string;
      readonly username: string;
      readonly passwordHash: string;
      readonly role: Role;
    }
  | { readonly type: "ChangeRole"; readonly role: Role; readonly by: string }
  | { readonly type: "ChangePassword"; readonly passwordHash: string }
  | { readonly type: "RevokeAllSessions"; readonly reason: string }
  | {
      readonly type: "DisableUser";
      readonly reason: string;
      readonly until: number | null;
      readonly by: string;
    }
  | { readonly type: "EnableUser"; readonly by: string }
  | { readonly type: "EraseUser"; readonly by: string }
  | {
      readonly type: "RevokeToken";
      readonly tokenId: string;
      readonly kind: TokenKind;
      readonly expiresAt: number;
      readonly reason: string;
      readonly now: number;
    };

export const decideUser = (command: UserCommand, state: User): Decision<UserEvent, UserError> => {
  if (command.type === "RegisterUser") {
    if (state.status === "active") return reject(new UserAlreadyRegistered(state.id));
    if (!isValidUsername(command.username)) return reject(new InvalidUsername(command.username));
    const { userId, username, passwordHash, role } = command;
    return accept({ type: "UserRegistered", data: { userId, username, passwordHash, role } });
  }
  if (state.status !== "active") return reject(new UserNotFound());
  const userId = state.id;
  const epoch = state.epoch + 1;
  switch (command.type) {
    case "ChangeRole":
      if (command.role === state.role) return accept();
      return accept({
        type: "RoleChanged",
        data: { userId, from: state.role, to: command.role, by: command.by, epoch },
      });
    case "ChangePassword":
      return accept({
        type: "PasswordChanged",
        data: { userId, passwordHash: command.passwordHash, epoch },
      });
    case "RevokeAllSessions":
      return accept({
        type: "AllSessionsRevoked",
        data: { userId, epoch, reason: command.reason },
      });
    case "DisableUser": {
      const { reason, until, by } = command;
      return accept({ type: "UserDisabled", data: { userId, reason, until, by, epoch } });
    }
    case "EnableUser":
      return state.disabled !== null
        ? accept({ type: "UserEnabled", data: { userId, by: command.by } })
        : accept();
    case "EraseUser":
      return accept({ type: "UserErased", data: { userId, by: command.by, epoch } });
    case "RevokeToken": {
      if (command.expiresAt <= command.now) return accept();
      const { tokenId, kind, expiresAt, reason } = command;
      return accept({ type: "TokenRevoked", data: { userId, tokenId, kind, expiresAt, reason } });
    }
  }
};

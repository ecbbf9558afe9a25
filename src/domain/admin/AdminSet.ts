import type { Role } from "../Role.ts";
import { decideUser, type User } from "../user/User.ts";
import { UserNotFound } from "../user/UserErrors.ts";
import type { UserEvent } from "../user/UserEvents.ts";

/** Every change into or out of the admin role also appends here atomically (decision 17). */
export const adminSetStream = "admins";

export type AdminGranted = { readonly type: "AdminGranted"; readonly data: { userId: string } };
export type AdminRevoked = { readonly type: "AdminRevoked"; readonly data: { userId: string } };

/** Every disable and enable lands here too, so "the last active admin" is one stream's rule. */
export type AccountDisabled = {
  readonly type: "AccountDisabled";
  readonly data: { userId: string; until: number | null };
};
export type AccountEnabled = { readonly type: "AccountEnabled"; readonly data: { userId: string } };

export type AdminSetEvent = AdminGranted | AdminRevoked | AccountDisabled | AccountEnabled;

export type AdminSet = ReadonlySet<string>;

export const foldAdminSet = (events: Iterable<AdminSetEvent>): AdminSet => {
  const admins = new Set<string>();
  for (const event of events) {
    if (event.type === "AdminGranted") admins.add(event.data.userId);
    if (event.type === "AdminRevoked") admins.delete(event.data.userId);
  }
  return admins;
};

/** The admin set, and every disabled account with the time its disable lapses (null: never). */
export type AdminRoster = {
  readonly admins: AdminSet;
  readonly disabled: ReadonlyMap<string, number | null>;
};

export const foldAdminRoster = (events: Iterable<AdminSetEvent>): AdminRoster => {
  const list = [...events];
  const disabled = new Map<string, number | null>();
  for (const event of list) {
    if (event.type === "AccountDisabled") disabled.set(event.data.userId, event.data.until);
    if (event.type === "AccountEnabled") disabled.delete(event.data.userId);
  }
  return { admins: foldAdminSet(list), disabled };
};

export const activeAdmins = (roster: AdminRoster, now: number): readonly string[] =>
  [...roster.admins].filter((id) => {
    if (!roster.disabled.has(id)) return true;
    const until = roster.disabled.get(id) ?? null;
    return until !== null && until <= now;
  });

export type AccountDecision =
  | {
      readonly ok: true;
      readonly user: readonly UserEvent[];
      readonly admins: readonly AdminSetEvent[];
    }
  | { readonly ok: false; readonly error: UserNotFound | LastAdmin | NotAnAdmin };

/** A caller (null for an operator) who is no active admin may decide nothing. */
const notAllowed = (caller: string | null, active: readonly string[]) =>
  caller !== null && !active.includes(caller);

const lastActive = (active: readonly string[], userId: string) =>
  active.includes(userId) && active.every((id) => id === userId);

/** `caller` null: an operator. An active admin can never be disabled while no other is active. */
export const decideDisable = (
  command: {
    readonly reason: string;
    readonly until: number | null;
    readonly caller: string | null;
    readonly by: string;
    readonly now: number;
  },
  target: User,
  roster: AdminRoster,
): AccountDecision => {
  const active = activeAdmins(roster, command.now);
  if (notAllowed(command.caller, active)) return { ok: false, error: new NotAnAdmin() };
  if (target.status !== "active") return { ok: false, error: new UserNotFound() };
  const userId = target.id;
  if (lastActive(active, userId)) return { ok: false, error: new LastAdmin() };
  const { reason, until, by } = command;
  const decided = decideUser({ type: "DisableUser", reason, until, by }, target);
  if (!decided.ok) return { ok: false, error: new UserNotFound() };
  return {
    ok: true,
    user: decided.events,
    admins: [{ type: "AccountDisabled", data: { userId, until } }],
  };
};

export const decideEnable = (
  command: { readonly caller: string | null; readonly by: string; readonly now: number },
  target: User,
  roster: AdminRoster,
): AccountDecision => {
  if (notAllowed(command.caller, activeAdmins(roster, command.now))) {
    return { ok: false, error: new NotAnAdmin() };
  }
  if (target.status !== "active") return { ok: false, error: new UserNotFound() };
  const decided = decideUser({ type: "EnableUser", by: command.by }, target);
  if (!decided.ok) return { ok: false, error: new UserNotFound() };
  const userId = target.id;
  return {
    ok: true,
    user: decided.events,
    admins: roster.disabled.has(userId) ? [{ type: "AccountEnabled", data: { userId } }] : [],
  };
};

/** `caller` null: an operator or the user itself. The last active admin is never erased. */
export const decideErase = (
  command: { readonly caller: string | null; readonly by: string; readonly now: number },
  target: User,
  roster: AdminRoster,
): AccountDecision => {
  const active = activeAdmins(roster, command.now);
  if (notAllowed(command.caller, active)) return { ok: false, error: new NotAnAdmin() };
  if (target.status !== "active") return { ok: false, error: new UserNotFound() };
  const userId = target.id;
  if (lastActive(active, userId)) return { ok: false, error: new LastAdmin() };
  const decided = decideUser({ type: "EraseUser", by: command.by }, target);
  if (!decided.ok) return { ok: false, error: new UserNotFound() };
  return {
    ok: true,
    user: decided.events,
    admins: roster.admins.has(userId) ? [{ type: "AdminRevoked", data: { userId } }] : [],
  };
};

export class LastAdmin {
  readonly _tag = "LastAdmin";
}

export class NotAnAdmin {
  readonly _tag = "NotAnAdmin";
}

export type RoleChangeDecision = AccountDecision;

/**
 * `caller` null: an operator. Never leaves the set without an active admin (a disabled one does
 * not count); granting admin again restores a missing entry.
 */
export const decideRoleChange = (
  command: {
    readonly role: Role;
    readonly caller: string | null;
    readonly by: string;
    readonly now: number;
  },
  target: User,
  roster: AdminRoster,
): RoleChangeDecision => {
  const { admins } = roster;
  const active = activeAdmins(roster, command.now);
  if (notAllowed(command.caller, active)) return { ok: false, error: new NotAnAdmin() };
  if (target.status !== "active") return { ok: false, error: new UserNotFound() };
  const decided = decideUser({ type: "ChangeRole", role: command.role, by: command.by }, target);
  if (!decided.ok) return { ok: false, error: new UserNotFound() };
  const userId = target.id;
  if (command.role === "admin") {
    const granted: readonly AdminSetEvent[] = admins.has(userId)
      ? []
      : [{ type: "AdminGranted", data: { userId } }];
    return { ok: true, user: decided.events, admins: granted };
  }
  const isAdmin = target.role === "admin" || admins.has(userId);
  if (isAdmin && active.every((id) => id === userId)) {
    return { ok: false, error: new LastAdmin() };
  }
  return {
    ok: true,
    user: decided.events,
    admins: admins.has(userId) ? [{ type: "AdminRevoked", data: { userId } }] : [],
  };
};

export const adminSetOnRegister = (userId: string, role: Role): readonly AdminSetEvent[] =>
  role === "admin" ? [{ type: "AdminGranted", data: { userId } }] : [];

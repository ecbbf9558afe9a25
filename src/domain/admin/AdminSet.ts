import type { Role } from "../Role.ts";
import { decideUser, type User } from "../user/User.ts";
import { UserNotFound } from "../user/UserErrors.ts";
import type { UserEvent } from "../user/UserEvents.ts";

/** Every change into or out of the admin role also appends here atomically (decision 17). */
export const adminSetStream = "admins";

export type AdminGranted = { readonly type: "AdminGranted"; readonly data: { userId: string } };
export type AdminRevoked = { readonly type: "AdminRevoked"; readonly data: { userId: string } };

export type AdminSetEvent = AdminGranted | AdminRevoked;

export type AdminSet = ReadonlySet<string>;

export const foldAdminSet = (events: Iterable<AdminSetEvent>): AdminSet => {
  const admins = new Set<string>();
  for (const event of events) {
    if (event.type === "AdminGranted") admins.add(event.data.userId);
    else admins.delete(event.data.userId);
  }
  return admins;
};

export class LastAdmin {
  readonly _tag = "LastAdmin";
}

export class NotAnAdmin {
  readonly _tag = "NotAnAdmin";
}

export type RoleChangeDecision =
  | {
      readonly ok: true;
      readonly user: readonly UserEvent[];
      readonly admins: readonly AdminSetEvent[];
    }
  | { readonly ok: false; readonly error: UserNotFound | LastAdmin | NotAnAdmin };

/** `caller` null: an operator. Never empties the set; granting admin again restores its entry. */
export const decideRoleChange = (
  command: { readonly role: Role; readonly caller: string | null; readonly by: string },
  target: User,
  admins: AdminSet,
): RoleChangeDecision => {
  if (command.caller !== null && !admins.has(command.caller)) {
    return { ok: false, error: new NotAnAdmin() };
  }
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
  if (isAdmin && [...admins].every((id) => id === userId)) {
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

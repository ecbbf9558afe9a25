import { Clock, Effect } from "effect";
import { decideRoleChange } from "../domain/admin/AdminSet.ts";
import { isRole, roles } from "../domain/Role.ts";
import { evolveUser } from "../domain/user/User.ts";
import { isValidUsername, usernameRule } from "../domain/user/Username.ts";
import { appendAccountDecision } from "./accountDecision.ts";
import { UserNotFound, ValidationFailed } from "./errors.ts";
import { loadAdminRoster, loadUser, retryOnConflict } from "./events.ts";
import type { Metadata } from "./ports/EventStore.ts";
import { findUserId, type UserView, view } from "./users.ts";

export type Caller = { readonly admin: string } | { readonly operator: string };

const validate = (request: { readonly username: string; readonly role: string }) => {
  const fields = [
    ...(isValidUsername(request.username) ? [] : [{ name: "username", rule: usernameRule }]),
    ...(isRole(request.role) ? [] : [{ name: "role", rule: `one of ${roles.join(", ")}` }]),
  ];
  return isRole(request.role) && fields.length === 0
    ? Effect.succeed(request.role)
    : Effect.fail(new ValidationFailed({ fields }));
};

/**
 * The role and admin-set changes are one atomic append, decided again on a conflict, so the last
 * admin always stays (decision 17). A real change moves the epoch: the user's tokens die with it.
 */
export const changeRole = Effect.fn("changeRole")(function* (
  request: { readonly username: string; readonly role: string },
  caller: Caller,
  metadata: Metadata,
) {
  const role = yield* validate(request);
  const userId = yield* findUserId(request.username);
  if (userId === null) return yield* new UserNotFound();
  const by = "admin" in caller ? caller.admin : caller.operator;
  const command = { role, caller: "admin" in caller ? caller.admin : null, by };

  return yield* retryOnConflict(
    Effect.gen(function* () {
      const [target, admins] = yield* Effect.all([loadUser(userId), loadAdminRoster], {
        concurrency: 2,
      });
      const now = yield* Clock.currentTimeMillis;
      const decision = decideRoleChange({ ...command, now }, target.state, admins.state);
      const applied = yield* appendAccountDecision(
        userId,
        decision,
        { user: target.version, admins: admins.version },
        { ...metadata, actor: by },
      );
      const user = applied.user.reduce(evolveUser, target.state);
      if (user.status !== "active") return yield* Effect.die(new Error("user vanished"));
      return view(user, target.records[0]?.recordedAt ?? new Date(0)) satisfies UserView;
    }),
  );
});

import { Clock, Effect } from "effect";
import { adminSetStream, decideRoleChange } from "../domain/admin/AdminSet.ts";
import { isRole, roles } from "../domain/Role.ts";
import { evolveUser } from "../domain/user/User.ts";
import { userStream } from "../domain/user/UserEvents.ts";
import { isValidUsername, usernameRule } from "../domain/user/Username.ts";
import { LastAdmin, RoleRequired, UserNotFound, ValidationFailed } from "./errors.ts";
import { appendManyAndProject, loadAdminRoster, loadUser, retryOnConflict } from "./events.ts";
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
      if (!decision.ok) {
        switch (decision.error._tag) {
          case "UserNotFound":
            return yield* new UserNotFound();
          case "NotAnAdmin":
            return yield* new RoleRequired({ role: "admin" });
          case "LastAdmin":
            return yield* new LastAdmin();
        }
      }
      const appends = [
        { streamId: userStream(userId), events: decision.user, expectedVersion: target.version },
        { streamId: adminSetStream, events: decision.admins, expectedVersion: admins.version },
      ].filter((entry) => entry.events.length > 0);
      if (appends.length > 0) {
        yield* appendManyAndProject(appends, { ...metadata, actor: by }).pipe(
          Effect.catchTag("ClaimTaken", (e) => Effect.die(e)),
        );
      }
      const user = decision.user.reduce(evolveUser, target.state);
      if (user.status !== "active") return yield* Effect.die(new Error("user vanished"));
      return view(user, target.records[0]?.recordedAt ?? new Date(0)) satisfies UserView;
    }),
  );
});

import { Effect } from "effect";
import { adminSetOnRegister, adminSetStream, decideRoleChange } from "../domain/admin/AdminSet.ts";
import { isRole, type Role, roles } from "../domain/Role.ts";
import { evolveUser } from "../domain/user/User.ts";
import { type UserEvent, userIdOf, userStream } from "../domain/user/UserEvents.ts";
import { isValidUsername, usernameKey, usernameRule } from "../domain/user/Username.ts";
import type { UserView } from "./auth.ts";
import { Conflict, Forbidden, NotFound, Unavailable, ValidationFailed } from "./errors.ts";
import {
  appendAndProject,
  appendManyAndProject,
  loadAdminSet,
  loadUser,
  retryOnConflict,
} from "./events.ts";
import { EventStore, type Metadata } from "./ports/EventStore.ts";

/**
 * Who asks for a role change: an admin, checked against the admin set when the change is
 * decided, or an operator at the console.
 */
export type Caller = { readonly admin: string } | { readonly operator: string };

/** The id of the user a username names, or null. */
export const findUserId = (username: string) =>
  Effect.gen(function* () {
    if (!isValidUsername(username)) return null;
    const owner = yield* (yield* EventStore)
      .findClaim(usernameKey(username))
      .pipe(Effect.mapError(() => new Unavailable({ dependency: "event-store" })));
    return owner === null ? null : userIdOf(owner);
  });

/**
 * Writes a new user's registration. An admin joins the admin set in the same atomic step, so
 * the set never misses an admin; the step is retried when another admin change got there first.
 */
export const appendRegistration = (
  userId: string,
  events: readonly UserEvent[],
  role: Role,
  options: { readonly metadata: Metadata; readonly claims: readonly string[] },
) =>
  Effect.gen(function* () {
    const user = { streamId: userStream(userId), events, claims: options.claims };
    if (role !== "admin") {
      const result = yield* appendAndProject(user.streamId, events, {
        ...options,
        expectedVersion: 0,
      }).pipe(Effect.catchTag("VersionConflict", (e) => Effect.die(e)));
      return result?.events ?? [];
    }
    return yield* retryOnConflict(
      Effect.gen(function* () {
        const admins = yield* loadAdminSet;
        const results = yield* appendManyAndProject(
          [
            { ...user, expectedVersion: 0 },
            {
              streamId: adminSetStream,
              events: adminSetOnRegister(userId, role),
              expectedVersion: admins.version,
            },
          ],
          options.metadata,
        );
        return results[0]?.events ?? [];
      }),
    );
  });

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
 * Gives the user named `username` the role `role`. The role change and the admin-set change
 * are one atomic append, each stream at the version it was decided on; a concurrent change to
 * either is decided again on fresh state, so none is lost and the last admin always stays.
 * From its return on, every token the user held is refused: the epoch moved and was projected.
 */
export const changeRole = (
  request: { readonly username: string; readonly role: string },
  caller: Caller,
  metadata: Metadata,
) =>
  Effect.gen(function* () {
    const role = yield* validate(request);
    const userId = yield* findUserId(request.username);
    if (userId === null) return yield* Effect.fail(new NotFound({ what: "user" }));
    const by = "admin" in caller ? caller.admin : caller.operator;
    const command = { role, caller: "admin" in caller ? caller.admin : null, by };

    return yield* retryOnConflict(
      Effect.gen(function* () {
        const [target, admins] = yield* Effect.all([loadUser(userId), loadAdminSet], {
          concurrency: 2,
        });
        const decision = decideRoleChange(command, target.state, admins.state);
        if (!decision.ok) {
          switch (decision.error._tag) {
            case "UserNotFound":
              return yield* Effect.fail(new NotFound({ what: "user" }));
            case "NotAnAdmin":
              return yield* Effect.fail(new Forbidden());
            case "LastAdmin":
              return yield* Effect.fail(
                new Conflict({ detail: "That would leave no admin: promote another user first." }),
              );
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
        return {
          id: user.id,
          username: user.username,
          role: user.role,
          createdAt: target.records[0]?.recordedAt ?? new Date(0),
        } satisfies UserView;
      }),
    );
  });

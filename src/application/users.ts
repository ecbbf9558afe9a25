import { Effect } from "effect";
import { adminSetOnRegister, adminSetStream } from "../domain/admin/AdminSet.ts";
import type { Role } from "../domain/Role.ts";
import { isValidPassword, passwordRule } from "../domain/user/Password.ts";
import { type ActiveUser, decideUser } from "../domain/user/User.ts";
import { type UserEvent, userIdOf, userStream } from "../domain/user/UserEvents.ts";
import { isValidUsername, usernameKey, usernameRule } from "../domain/user/Username.ts";
import { UsernameTaken, ValidationFailed } from "./errors.ts";
import {
  appendAndProject,
  appendManyAndProject,
  loadAdminSet,
  loadUser,
  retryOnConflict,
} from "./events.ts";
import { EventStore, type Metadata } from "./ports/EventStore.ts";
import { Ids } from "./ports/Ids.ts";
import { PasswordHasher } from "./ports/PasswordHasher.ts";

export type Credentials = { readonly username: string; readonly password: string };

export type UserView = {
  readonly id: string;
  readonly username: string;
  readonly role: Role;
  readonly createdAt: Date;
};

export const view = (user: ActiveUser, createdAt: Date): UserView => ({
  id: user.id,
  username: user.username,
  role: user.role,
  createdAt,
});

export const findUserId = (username: string) =>
  Effect.gen(function* () {
    if (!isValidUsername(username)) return null;
    const owner = yield* (yield* EventStore).findClaim(usernameKey(username));
    return owner === null ? null : userIdOf(owner);
  });

export const findUser = (username: string) =>
  Effect.gen(function* () {
    const userId = yield* findUserId(username);
    if (userId === null) return null;
    const { state } = yield* loadUser(userId);
    return state.status === "active" ? state : null;
  });

export const validateCredentials = ({ username, password }: Credentials) => {
  const fields = [
    ...(isValidUsername(username) ? [] : [{ name: "username", rule: usernameRule }]),
    ...(isValidPassword(password) ? [] : [{ name: "password", rule: passwordRule }]),
  ];
  return fields.length === 0 ? Effect.void : Effect.fail(new ValidationFailed({ fields }));
};

/** An admin joins the admin set in the same atomic step as its registration (decision 17). */
const appendRegistration = (
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

/** Creates an account with `role`; the username claim lets exactly one of racing creations land. */
export const createUser = (input: Credentials & { readonly role: Role }, metadata: Metadata) =>
  Effect.gen(function* () {
    yield* validateCredentials(input);
    const userId = yield* (yield* Ids).next;
    const passwordHash = yield* (yield* PasswordHasher).hash(input.password);
    const decision = decideUser(
      { type: "RegisterUser", userId, username: input.username, passwordHash, role: input.role },
      { status: "unregistered" },
    );
    if (!decision.ok) {
      return yield* new ValidationFailed({ fields: [{ name: "username", rule: usernameRule }] });
    }
    const recorded = yield* appendRegistration(userId, decision.events, input.role, {
      metadata: { ...metadata, actor: metadata.actor ?? userId },
      claims: [usernameKey(input.username)],
    }).pipe(Effect.catchTag("ClaimTaken", () => Effect.fail(new UsernameTaken())));
    return {
      id: userId,
      username: input.username,
      role: input.role,
      createdAt: recorded[0]?.recordedAt ?? new Date(),
    } satisfies UserView;
  });

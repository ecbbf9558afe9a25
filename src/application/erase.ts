import { Clock, Effect } from "effect";
import { decideErase } from "../domain/admin/AdminSet.ts";
import { isValidPassword } from "../domain/user/Password.ts";
import { userStream } from "../domain/user/UserEvents.ts";
import { appendAccountDecision } from "./accountDecision.ts";
import type { Caller } from "./changeRole.ts";
import { InvalidCredentials, TokenRejected, UserNotFound } from "./errors.ts";
import { loadAdminRoster, loadUser, retryOnConflict } from "./events.ts";
import { DataKeys } from "./ports/DataKeys.ts";
import type { Metadata } from "./ports/EventStore.ts";
import { PasswordHasher } from "./ports/PasswordHasher.ts";
import type { AccessClaims } from "./ports/Tokens.ts";
import { limitPasswordChecks } from "./throttle.ts";

/** Who erases: an admin, an operator, or the user itself (`self`, its password checked first). */
export type Eraser = Caller | { readonly self: string };

const actorOf = (eraser: Eraser) =>
  "admin" in eraser ? eraser.admin : "operator" in eraser ? eraser.operator : eraser.self;

/**
 * Appends UserErased (the epoch moves: every token dies before this returns), then destroys the
 * user's data key and releases its username. An erased user is unknown: erasing it again only
 * makes sure the key is gone, then answers UserNotFound.
 */
export const eraseUser = Effect.fn("eraseUser")(function* (
  userId: string,
  eraser: Eraser,
  metadata: Metadata,
) {
  const keys = yield* DataKeys;
  const by = actorOf(eraser);
  const forget = keys.forget(userId, userStream(userId));
  yield* retryOnConflict(
    Effect.gen(function* () {
      const [target, roster] = yield* Effect.all([loadUser(userId), loadAdminRoster], {
        concurrency: 2,
      });
      if (target.state.status === "erased") {
        yield* forget;
        return yield* new UserNotFound();
      }
      const caller = "admin" in eraser ? eraser.admin : null;
      const now = yield* Clock.currentTimeMillis;
      const decision = decideErase({ caller, by, now }, target.state, roster.state);
      yield* appendAccountDecision(
        userId,
        decision,
        { user: target.version, admins: roster.version },
        { ...metadata, actor: by },
      );
    }),
  );
  yield* forget;
});

/** DELETE /auth/me: the password is checked under the login limits, like a password change. */
export const eraseMe = Effect.fn("eraseMe")(function* (
  principal: AccessClaims,
  password: string,
  metadata: Metadata,
) {
  const hasher = yield* PasswordHasher;
  const checked = Effect.gen(function* () {
    const { state } = yield* loadUser(principal.sub);
    if (state.status !== "active") return yield* new TokenRejected({ reason: "unknown user" });
    const matches =
      isValidPassword(password) && (yield* hasher.verify(password, state.passwordHash));
    if (!matches) return yield* Effect.fail(new InvalidCredentials());
  });
  yield* limitPasswordChecks(principal.username, metadata.clientIp, checked);
  yield* eraseUser(principal.sub, { self: principal.sub }, metadata).pipe(
    Effect.catchTag("UserNotFound", () => Effect.fail(new TokenRejected({ reason: "erased" }))),
  );
});

import { Effect } from "effect";
import { isValidPassword, passwordRule } from "../domain/user/Password.ts";
import { decideUser, evolveUser } from "../domain/user/User.ts";
import { userStream } from "../domain/user/UserEvents.ts";
import { AccountChanged, InvalidCredentials, TokenRejected, ValidationFailed } from "./errors.ts";
import { decideAndAppend, loadUser } from "./events.ts";
import type { Metadata } from "./ports/EventStore.ts";
import { PasswordHasher } from "./ports/PasswordHasher.ts";
import type { AccessClaims } from "./ports/Tokens.ts";
import { startSession } from "./sessions.ts";
import { limitPasswordChecks } from "./throttle.ts";

export type PasswordChange = {
  readonly currentPassword: string;
  readonly newPassword: string;
};

/** The current password is checked under the login limits: a stolen token is no password oracle. */
export const changePassword = Effect.fn("changePassword")(function* (
  principal: AccessClaims,
  input: PasswordChange,
  metadata: Metadata,
) {
  if (!isValidPassword(input.newPassword)) {
    return yield* Effect.fail(
      new ValidationFailed({ fields: [{ name: "new_password", rule: passwordRule }] }),
    );
  }
  const hasher = yield* PasswordHasher;
  // Verified once, on the first load: a retry after a lost race never overwrites a newer password.
  let verified: string | null = null;
  let passwordHash = "";
  const checked = Effect.gen(function* () {
    const loaded = yield* loadUser(principal.sub);
    if (loaded.state.status !== "active") {
      return yield* new TokenRejected({ reason: "unknown user" });
    }
    const moved =
      loaded.state.epoch !== principal.epoch ||
      (verified !== null && verified !== loaded.state.passwordHash);
    if (moved) {
      return yield* new AccountChanged();
    }
    if (verified !== null) return loaded;
    const matches =
      isValidPassword(input.currentPassword) &&
      (yield* hasher.verify(input.currentPassword, loaded.state.passwordHash));
    if (!matches) return yield* Effect.fail(new InvalidCredentials());
    verified = loaded.state.passwordHash;
    passwordHash = yield* hasher.hash(input.newPassword);
    return loaded;
  });
  const { decision, loaded } = yield* limitPasswordChecks(
    principal.username,
    metadata.clientIp,
    decideAndAppend(
      checked,
      userStream(principal.sub),
      (user) => decideUser({ type: "ChangePassword", passwordHash }, user),
      { metadata: { ...metadata, actor: principal.sub } },
    ).pipe(Effect.catchTag("ClaimTaken", (e) => Effect.die(e))),
  );
  if (!decision.ok) return yield* new TokenRejected({ reason: decision.error._tag });
  const user = decision.events.reduce(evolveUser, loaded.state);
  if (user.status !== "active") return yield* new TokenRejected({ reason: "unknown user" });
  return yield* startSession(user, metadata);
});

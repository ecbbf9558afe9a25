import { Clock, Effect } from "effect";
import { isValidPassword } from "../domain/user/Password.ts";
import { isDisabledAt } from "../domain/user/User.ts";
import { AccountDisabled, InvalidCredentials } from "./errors.ts";
import type { Metadata } from "./ports/EventStore.ts";
import { Metrics } from "./ports/Metrics.ts";
import { PasswordHasher } from "./ports/PasswordHasher.ts";
import { startSession } from "./sessions.ts";
import { limitPasswordChecks } from "./throttle.ts";
import { type Credentials, findUser } from "./users.ts";

/** One failure for every wrong input; an unknown user costs a hash verify like a known one. */
const checkCredentials = (input: Credentials) =>
  Effect.gen(function* () {
    const hasher = yield* PasswordHasher;
    if (!isValidPassword(input.password)) return yield* Effect.fail(new InvalidCredentials());
    const user = yield* findUser(input.username);
    if (user === null) {
      yield* hasher.verifyDummy(input.password);
      return yield* Effect.fail(new InvalidCredentials());
    }
    if (!(yield* hasher.verify(input.password, user.passwordHash))) {
      return yield* Effect.fail(new InvalidCredentials());
    }
    // Only after the password checked out: a wrong guess learns nothing about the account.
    if (isDisabledAt(user, yield* Clock.currentTimeMillis)) return yield* new AccountDisabled();
    return user;
  });

export const login = Effect.fn("login")(function* (input: Credentials, metadata: Metadata) {
  const user = yield* limitPasswordChecks(
    input.username,
    metadata.clientIp,
    checkCredentials(input),
  ).pipe(
    Effect.tapError((error) =>
      Effect.gen(function* () {
        if (error._tag === "InvalidCredentials" || error._tag === "RateLimited") {
          const reason = error._tag === "RateLimited" ? "rate_limited" : "invalid_credentials";
          yield* (yield* Metrics).loginFailed(reason);
        }
      }),
    ),
  );
  return yield* startSession(user, metadata);
});

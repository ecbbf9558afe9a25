import { Effect } from "effect";
import type { Metadata } from "./ports/EventStore.ts";
import { limitRegistrations } from "./throttle.ts";
import { type Credentials, createUser, validateCredentials } from "./users.ts";

export const register = Effect.fn("register")(function* (input: Credentials, metadata: Metadata) {
  yield* validateCredentials(input);
  yield* limitRegistrations(metadata.clientIp);
  const { username, password } = input;
  return yield* createUser({ username, password, role: "user" }, metadata);
});

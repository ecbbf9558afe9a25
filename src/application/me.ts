import { Effect } from "effect";
import { TokenRejected } from "./errors.ts";
import { loadUser } from "./events.ts";
import type { AccessClaims } from "./ports/Tokens.ts";
import { view } from "./users.ts";

export const me = Effect.fn("me")(function* (principal: AccessClaims) {
  const { state, records } = yield* loadUser(principal.sub);
  if (state.status !== "active") return yield* new TokenRejected({ reason: "unknown user" });
  return view(state, records[0]?.recordedAt ?? new Date(0));
});

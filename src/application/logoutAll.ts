import { Effect } from "effect";
import { decideUser } from "../domain/user/User.ts";
import { userStream } from "../domain/user/UserEvents.ts";
import { TokenRejected } from "./errors.ts";
import { decideAndAppend, loadUser } from "./events.ts";
import type { Metadata } from "./ports/EventStore.ts";
import type { AccessClaims } from "./ports/Tokens.ts";

export const logoutAll = Effect.fn("logoutAll")(function* (
  principal: AccessClaims,
  metadata: Metadata,
) {
  const { decision } = yield* decideAndAppend(
    loadUser(principal.sub),
    userStream(principal.sub),
    // Once the epoch has moved past the caller's token, a racing request already did this.
    (user) =>
      user.status === "active" && user.epoch > principal.epoch
        ? ({ ok: true, events: [] } as const)
        : decideUser({ type: "RevokeAllSessions", reason: "logout-all" }, user),
    { metadata: { ...metadata, actor: principal.sub } },
  ).pipe(Effect.catchTag("ClaimTaken", (e) => Effect.die(e)));
  if (!decision.ok) return yield* new TokenRejected({ reason: decision.error._tag });
});

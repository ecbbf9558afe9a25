import { Clock, Effect } from "effect";
import { decideUser } from "../domain/user/User.ts";
import { userStream } from "../domain/user/UserEvents.ts";
import { Authenticator } from "./Authenticator.ts";
import { decideAndAppend, loadUser } from "./events.ts";
import { endSession } from "./logout.ts";
import type { Metadata } from "./ports/EventStore.ts";
import { type AccessClaims, Tokens } from "./ports/Tokens.ts";

const reason = "revocation";

const revokeAccess = (claims: AccessClaims, metadata: Metadata) =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis;
    yield* decideAndAppend(
      loadUser(claims.sub),
      userStream(claims.sub),
      (user) =>
        decideUser(
          {
            type: "RevokeToken",
            tokenId: claims.jti,
            kind: "access",
            expiresAt: claims.exp * 1000,
            reason,
            now,
          },
          user,
        ),
      { metadata: { ...metadata, actor: claims.sub } },
    ).pipe(Effect.catchTag("ClaimTaken", (e) => Effect.die(e)));
  });

/**
 * RFC 7009: whoever holds a token may give it up. A live access token is revoked by itself, a
 * refresh token ends its session; anything else, a token already dead included, changes nothing.
 * A token that is not ours costs a signature check and no I/O, so a flood of garbage stays cheap.
 */
export const revoke = Effect.fn("revoke")(function* (token: string, metadata: Metadata) {
  const access = yield* Effect.result((yield* Authenticator).authenticate(token));
  if (access._tag === "Success") return yield* revokeAccess(access.success, metadata);
  if (access.failure._tag !== "TokenRejected") return yield* access.failure;
  const now = yield* Clock.currentTimeMillis;
  const refresh = yield* Effect.option((yield* Tokens).verifyRefresh(token, now));
  if (refresh._tag === "None") return;
  const { sub, sid } = refresh.value;
  yield* endSession(sub, sid, reason, { ...metadata, actor: sub });
});

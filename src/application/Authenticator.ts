import { Clock, Context, Effect, Layer } from "effect";
import { userStream } from "../domain/user/UserEvents.ts";
import { Unauthorized, Unavailable } from "./errors.ts";
import { Projector } from "./Projector.ts";
import { EventStore } from "./ports/EventStore.ts";
import { TokenState, type TokenStatus } from "./ports/TokenState.ts";
import { type AccessClaims, Tokens } from "./ports/Tokens.ts";

/** The hot path: is this access token live right now? */
export class Authenticator extends Context.Service<
  Authenticator,
  {
    /**
     * The claims of a verified access token that the projection says is live, read in one
     * round trip. Fails closed: Unavailable when the projection cannot say.
     */
    readonly authenticate: (
      accessToken: string,
    ) => Effect.Effect<AccessClaims, Unauthorized | Unavailable>;
  }
>()("app/Authenticator") {}

const stateDown = () => new Unavailable({ dependency: "token-state" });

/** Services are resolved once here, so a request runs a short chain with no lookups. */
export const AuthenticatorLive = Layer.effect(
  Authenticator,
  Effect.gen(function* () {
    const tokens = yield* Tokens;
    const state = yield* TokenState;
    const projector = yield* Projector;
    const clock = yield* Clock.Clock;
    const store = yield* EventStore;

    /**
     * Every user has an epoch from registration on, so a missing one means lost data, unless
     * the log has no such user. Only a genuine token gets here, and only while it is refused.
     */
    const missingEpoch = (claims: AccessClaims) =>
      Effect.gen(function* () {
        const unavailable = new Unavailable({ dependency: "projection" });
        if (!(yield* projector.status).ready) return yield* unavailable;
        const events = yield* store
          .readStream(userStream(claims.sub))
          .pipe(Effect.mapError(() => new Unavailable({ dependency: "event-store" })));
        if (events.length === 0) return yield* new Unauthorized({ reason: "unknown user" });
        yield* projector.reportMissing(claims.sub);
        return yield* unavailable;
      });

    const decide = (
      claims: AccessClaims,
      status: TokenStatus,
    ): Effect.Effect<AccessClaims, Unauthorized | Unavailable> => {
      if (status.epoch === null) return missingEpoch(claims);
      if (status.epoch !== claims.epoch) {
        return Effect.fail(new Unauthorized({ reason: "stale epoch" }));
      }
      if (status.tokenRevoked || status.sessionRevoked) {
        return Effect.fail(new Unauthorized({ reason: "revoked" }));
      }
      return Effect.succeed(claims);
    };

    return {
      authenticate: (accessToken) =>
        tokens.verifyAccess(accessToken, clock.currentTimeMillisUnsafe()).pipe(
          Effect.mapError((e) => new Unauthorized({ reason: e.reason })),
          Effect.flatMap((claims) =>
            state.lookup(claims.sub, claims.jti, claims.sid).pipe(
              Effect.mapError(stateDown),
              Effect.flatMap((status) => decide(claims, status)),
            ),
          ),
        ),
    };
  }),
);

import { Clock, Context, Effect, Layer } from "effect";
import { userStream } from "../domain/user/UserEvents.ts";
import { Explainer } from "./Explainer.ts";
import { ProjectionIncomplete, TokenRejected } from "./errors.ts";
import { Projector } from "./Projector.ts";
import { EventStore, type StoreUnavailable } from "./ports/EventStore.ts";
import { TokenState, TokenStateUnavailable, type TokenStatus } from "./ports/TokenState.ts";
import { type AccessClaims, InvalidToken, Tokens } from "./ports/Tokens.ts";

/** The hot path: is this access token live right now? */
export class Authenticator extends Context.Service<
  Authenticator,
  {
    /**
     * The claims of a verified access token that the projection says is live, read in one
     * round trip. Fails closed when the projection cannot say.
     */
    readonly authenticate: (accessToken: string) => Effect.Effect<AccessClaims, Refusal>;
    /** `authenticate` as a promise of the claims or the refusal, for the hot path (decision 33). */
    readonly check: (accessToken: string) => Promise<AccessClaims | Refusal>;
  }
>()("app/Authenticator") {}

export type Refusal =
  | TokenRejected
  | ProjectionIncomplete
  | TokenStateUnavailable
  | StoreUnavailable;

/** Claims are plain parsed JSON; every refusal is an error instance. */
export const isRefusal = (outcome: AccessClaims | Refusal): outcome is Refusal =>
  outcome instanceof Error;

/** Services are resolved once here, so a request runs a short chain with no lookups. */
export const AuthenticatorLive = Layer.effect(
  Authenticator,
  Effect.gen(function* () {
    const tokens = yield* Tokens;
    const state = yield* TokenState;
    const projector = yield* Projector;
    const clock = yield* Clock.Clock;
    const store = yield* EventStore;
    const { explain } = yield* Explainer;

    // Only here, once a token is refused, is the log asked why (decision 46).
    const refuse = (token: string, reason: string) =>
      explain(token).then((explanation) => new TokenRejected({ reason, explanation }));

    /**
     * Every user has an epoch from registration on, so a missing one means lost data, unless
     * the log has no such user. Only a genuine token gets here, and only while it is refused.
     */
    const missingEpoch = (claims: AccessClaims) =>
      Effect.gen(function* () {
        if (!(yield* projector.status).ready) return yield* new ProjectionIncomplete();
        const events = yield* store.readStream(userStream(claims.sub));
        if (events.length === 0) return yield* new TokenRejected({ reason: "unknown user" });
        yield* projector.reportMissing(claims.sub);
        return yield* new ProjectionIncomplete();
      });

    const judge = (claims: AccessClaims, status: TokenStatus): AccessClaims | TokenRejected => {
      if (status.epoch !== claims.epoch) return new TokenRejected({ reason: "stale epoch" });
      if (status.tokenRevoked || status.sessionRevoked) {
        return new TokenRejected({ reason: "revoked" });
      }
      return claims;
    };

    const stateDown = (error: unknown) =>
      error instanceof TokenStateUnavailable ? error : new TokenStateUnavailable({ cause: error });

    // Plain promises: on every protected request an effect run cost more than the decision.
    const check = (accessToken: string): Promise<AccessClaims | Refusal> => {
      const claims = tokens.checkAccess(accessToken, clock.currentTimeMillisUnsafe());
      if (claims instanceof InvalidToken) return refuse(accessToken, claims.reason);
      return state
        .lookupNow(claims.sub, claims.jti, claims.sid)
        .then<AccessClaims | Refusal, Refusal>((status) => {
          if (status.epoch === null) return Effect.runPromise(Effect.flip(missingEpoch(claims)));
          const judged = judge(claims, status);
          return judged instanceof TokenRejected ? refuse(accessToken, judged.reason) : judged;
        }, stateDown);
    };

    return {
      check,
      authenticate: (accessToken) =>
        Effect.promise(() => check(accessToken)).pipe(
          Effect.flatMap((outcome) =>
            isRefusal(outcome) ? Effect.fail(outcome) : Effect.succeed(outcome),
          ),
        ),
    };
  }),
);

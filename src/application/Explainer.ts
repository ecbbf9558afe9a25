import { Clock, Context, Effect, Layer } from "effect";
import {
  type Explanation,
  explanationOf,
  judgeAt,
  judgedEvents,
  streamsOf,
  unexplained,
} from "./explain.ts";
import { EventStore, type RecordedEvent } from "./ports/EventStore.ts";
import { Tokens } from "./ports/Tokens.ts";

/** Why a refused token is refused; asked only once a token is refused (decision 46). */
export class Explainer extends Context.Service<
  Explainer,
  {
    /**
     * The cause of a refusal by the log as it stands: `invalid_token` for a token that is not
     * ours, `token_expired`, or the revoking event's code and time. Never fails: when the log
     * cannot be read in time, or too many lookups run at once, the answer is `invalid_token`.
     */
    readonly explain: (token: string) => Promise<Explanation>;
  }
>()("app/Explainer") {}

export type ExplainerOptions = {
  /** How long a lookup may read the log before the refusal goes out unexplained. */
  readonly timeoutMs: number;
  /** Lookups in flight at most; any more are answered unexplained at once. */
  readonly maxInFlight: number;
  /** How long a found cause is remembered for the same token. */
  readonly memoMs: number;
};

export const explainerDefaults: ExplainerOptions = {
  timeoutMs: 200,
  maxInFlight: 4,
  memoMs: 1000,
};

const memoLimit = 10_000;

export const ExplainerLive = (options: ExplainerOptions = explainerDefaults) =>
  Layer.effect(
    Explainer,
    Effect.gen(function* () {
      const tokens = yield* Tokens;
      const store = yield* EventStore;
      const clock = yield* Clock.Clock;
      const memo = new Map<string, { readonly until: number; readonly explanation: Explanation }>();
      // One read per user and session at a time, whatever number of refused tokens name them.
      const reading = new Map<string, Promise<readonly RecordedEvent[] | null>>();

      const read = (streams: readonly string[], now: number) => {
        const key = streams.join(" ");
        const pending = reading.get(key);
        if (pending !== undefined) return pending;
        if (reading.size >= options.maxInFlight) return Promise.resolve(null);
        const started = Effect.runPromise(
          store.readStreams(streams, judgedEvents(now)).pipe(
            Effect.timeout(options.timeoutMs),
            Effect.catchCause(() => Effect.succeed(null)),
          ),
        ).finally(() => reading.delete(key));
        reading.set(key, started);
        return started;
      };

      const explain = async (token: string): Promise<Explanation> => {
        const now = clock.currentTimeMillisUnsafe();
        const known = memo.get(token);
        if (known !== undefined && known.until > now) return known.explanation;
        const examined = tokens.examine(token);
        if (examined === null) return unexplained;
        if (examined.claims.exp <= Math.floor(now / 1000)) return { code: "token_expired" };
        const events = await read(streamsOf(examined), now);
        if (events === null) return unexplained;
        // Every event read counts, whatever the commit time: the database's clock is not ours.
        const verdict = judgeAt(examined, events, now, Number.POSITIVE_INFINITY);
        const explanation = explanationOf(verdict);
        if (explanation.revokedAt !== undefined) {
          if (memo.size >= memoLimit) memo.delete(memo.keys().next().value ?? "");
          memo.set(token, { until: now + options.memoMs, explanation });
        }
        return explanation;
      };

      return { explain: (token) => explain(token).catch(() => unexplained) };
    }),
  );

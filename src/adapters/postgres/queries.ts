import { Effect, Schedule } from "effect";
import { StoreUnavailable } from "../../application/ports/EventStore.ts";

export const unavailable = (cause: unknown) => new StoreUnavailable({ cause });

// Server shutdown or crash (57P01-57P03), connection exceptions (08), and postgres.js's own.
const droppedCodes = /^(57P0[123]|08...|CONNECTION_(CLOSED|ENDED|DESTROYED)|ECONNRESET|EPIPE)$/;

const droppedConnection = (error: unknown) =>
  typeof error === "object" &&
  error !== null &&
  "code" in error &&
  typeof error.code === "string" &&
  droppedCodes.test(error.code);

export const defaultQueryTimeoutMs = 3_000;
const readAttemptMs = 1_000;

class Unanswered extends Error {
  constructor() {
    super(`no answer within ${readAttemptMs} ms`);
  }
}

/**
 * Every query gives up in time: a frozen server yields 503s, not requests waiting with it.
 * `read` is for statements that may run twice: a connection the server dropped while idle fails
 * the next query sent on it, or leaves it unanswered, and such a query is sent again, on another
 * connection; `bounded` sends once, as an append that failed mid-flight may have landed.
 */
export const queryBounds = (timeoutMs: number = defaultQueryTimeoutMs) => {
  const sent = <A>(query: () => PromiseLike<A>) =>
    Effect.tryPromise({ try: () => Promise.resolve(query()), catch: unavailable });
  const inTime = <A>(effect: Effect.Effect<A, StoreUnavailable>) =>
    effect.pipe(
      Effect.timeoutOrElse({
        duration: timeoutMs,
        orElse: () => Effect.fail(unavailable(new Error(`no answer within ${timeoutMs} ms`))),
      }),
    );
  const bounded = <A>(query: () => PromiseLike<A>) => inTime(sent(query));
  const read = <A>(query: () => PromiseLike<A>) =>
    inTime(
      sent(query).pipe(
        Effect.timeoutOrElse({
          duration: readAttemptMs,
          orElse: () => Effect.fail(unavailable(new Unanswered())),
        }),
        Effect.retry({
          schedule: Schedule.spaced("5 millis"),
          while: (error) => error.cause instanceof Unanswered || droppedConnection(error.cause),
        }),
      ),
    );
  return { bounded, read };
};

import { Context, Data, type Effect } from "effect";

/** Every worker is busy and the queue is full; nothing was started. */
export class ComputerSaturated extends Data.TaggedError("ComputerSaturated")<{
  readonly retryAfterSeconds: number;
}> {}

export type ComputerStats = {
  /** Computations handed to a worker since start. */
  readonly started: number;
  readonly running: number;
  readonly queued: number;
  /** Requests turned away because every worker and queue slot was taken. */
  readonly rejected: number;
};

export class FibonacciComputer extends Context.Service<
  FibonacciComputer,
  {
    /**
     * F(n) as a decimal string, computed without blocking the caller's thread. Fails at once
     * with ComputerSaturated rather than queue without bound.
     */
    readonly fibonacci: (n: number) => Effect.Effect<string, ComputerSaturated>;
    readonly stats: Effect.Effect<ComputerStats>;
  }
>()("app/FibonacciComputer") {}

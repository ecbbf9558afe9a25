import { Context, Data, type Effect } from "effect";

/** Every worker is busy and the queue is full; nothing was started. */
export class ComputerSaturated extends Data.TaggedError("ComputerSaturated")<{
  readonly retryAfterSeconds: number;
}> {}

export type ComputerStats = {
  readonly started: number;
  readonly running: number;
  readonly queued: number;
  readonly rejected: number;
};

export class FibonacciComputer extends Context.Service<
  FibonacciComputer,
  {
    /** F(n) in decimal, off the caller's thread; ComputerSaturated at once when full. */
    readonly fibonacci: (n: number) => Effect.Effect<string, ComputerSaturated>;
    readonly stats: Effect.Effect<ComputerStats>;
  }
>()("app/FibonacciComputer") {}

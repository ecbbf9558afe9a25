import { Effect } from "effect";
import { ValidationFailed } from "./errors.ts";
import { Cache } from "./ports/Cache.ts";
import { FibonacciComputer } from "./ports/FibonacciComputer.ts";
import { HeavyTaskSettings } from "./ports/HeavyTaskSettings.ts";
import { Metrics } from "./ports/Metrics.ts";

export type HeavyTaskResult = {
  readonly n: number;
  readonly result: string;
  readonly cached: boolean;
};

export const fibonacciKey = (n: number) => `fib:${n}`;

export const heavyTask = (n: number) =>
  Effect.gen(function* () {
    const settings = yield* HeavyTaskSettings;
    if (!Number.isSafeInteger(n) || n < 0 || n > settings.maxN) {
      return yield* new ValidationFailed({
        fields: [{ name: "n", rule: `an integer from 0 to ${settings.maxN}` }],
      });
    }
    const computer = yield* FibonacciComputer;
    const cache = yield* Cache;
    const { value, cached } = yield* cache.getOrCompute(
      fibonacciKey(n),
      settings.cacheTtlSeconds,
      computer.fibonacci(n),
    );
    yield* (yield* Metrics).cacheLookup(cached ? "hit" : "miss");
    return { n, result: value, cached } satisfies HeavyTaskResult;
  });

import { afterEach, describe, expect, test } from "bun:test";
import { Cause, Effect, Exit, Fiber } from "effect";
import { makeWorkerPool } from "../../src/adapters/worker/WorkerFibonacciComputer.ts";
import { iterativeFibonacci, knownFibonacci } from "../support/fibonacci.ts";

describe("worker pool (Bun Workers)", () => {
  const pools: { close: () => void }[] = [];
  const pool = (workers: number, queue: number) => {
    const made = makeWorkerPool({ workers, queue, retryAfterSeconds: 2 });
    pools.push(made);
    return made.service;
  };
  afterEach(() => {
    for (const made of pools.splice(0)) made.close();
  });

  test("computes exact values off the main thread", async () => {
    const computer = pool(2, 8);
    const values = await Promise.all(
      [...knownFibonacci.map(([n]) => n), 5_000].map((n) =>
        Effect.runPromise(computer.fibonacci(n)),
      ),
    );
    expect(values).toEqual([...knownFibonacci.map(([, v]) => v), iterativeFibonacci(5_000)]);
  });

  test("the event loop keeps turning while a worker computes", async () => {
    const computer = pool(1, 0);
    let done = false;
    const result = Effect.runPromise(computer.fibonacci(1_000_000)).then((value) => {
      done = true;
      return value;
    });
    await Bun.sleep(1);
    expect(done).toBe(false);
    expect((await Effect.runPromise(computer.stats)).running).toBe(1);
    expect((await result).length).toBe(208_988);
  });

  test("with every worker busy and the queue full, a request is refused at once", async () => {
    const computer = pool(1, 1);
    const running = Effect.runPromise(computer.fibonacci(300_000));
    const queued = Effect.runPromise(computer.fibonacci(20));
    const refused = await Effect.runPromise(Effect.flip(computer.fibonacci(30)));
    expect(refused).toMatchObject({ _tag: "ComputerSaturated", retryAfterSeconds: 2 });
    expect(await Effect.runPromise(computer.stats)).toEqual({
      started: 1,
      running: 1,
      queued: 1,
      rejected: 1,
    });
    expect((await running).length).toBe(62_696);
    expect(await queued).toBe("6765");
    expect((await Effect.runPromise(computer.stats)).started).toBe(2);
  });

  test("a caller that gives up leaves the queue", async () => {
    const computer = pool(1, 4);
    const running = Effect.runPromise(computer.fibonacci(300_000));
    const waiting = Effect.runFork(computer.fibonacci(10));
    expect((await Effect.runPromise(computer.stats)).queued).toBe(1);
    await Effect.runPromise(Fiber.interrupt(waiting));
    expect((await Effect.runPromise(computer.stats)).queued).toBe(0);
    await running;
    expect((await Effect.runPromise(computer.stats)).started).toBe(1);
  });

  test("a worker that fails fails its job only, and is replaced", async () => {
    const computer = pool(1, 1);
    const failed = await Effect.runPromiseExit(computer.fibonacci(-1));
    expect(Exit.isFailure(failed) && Cause.hasDies(failed.cause)).toBe(true);
    expect(await Effect.runPromise(computer.fibonacci(10))).toBe("55");
  });
});

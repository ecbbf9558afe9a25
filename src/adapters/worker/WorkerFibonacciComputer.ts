import { Effect, Layer } from "effect";
import { ComputerSaturated, FibonacciComputer } from "../../application/ports/FibonacciComputer.ts";

export type PoolOptions = {
  readonly workers: number;
  readonly queue: number;
  readonly retryAfterSeconds?: number;
};

type Job = {
  readonly n: number;
  readonly resume: (effect: Effect.Effect<string, ComputerSaturated>) => void;
};

type Slot = { worker: Worker | undefined; job: Job | undefined };

const script = new URL("./fibonacciWorker.ts", import.meta.url).href;

/** A dead worker fails its job and the slot's next job starts a new one: no respawn loop. */
export const makeWorkerPool = (options: PoolOptions) => {
  const retryAfterSeconds = options.retryAfterSeconds ?? 1;
  const queue: Job[] = [];
  let started = 0;
  let rejected = 0;
  let closed = false;

  const start = (slot: Slot, job: Job) => {
    slot.job = job;
    started++;
    slot.worker ??= hire(slot);
    slot.worker.postMessage(job.n);
  };

  const finish = (slot: Slot, outcome: Effect.Effect<string, ComputerSaturated>) => {
    const job = slot.job;
    slot.job = undefined;
    job?.resume(outcome);
    const next = queue.shift();
    if (next) start(slot, next);
  };

  const hire = (slot: Slot): Worker => {
    const worker = new Worker(script, { type: "module" });
    // Deno's Worker has no unref; there the pool's release terminates the workers.
    worker.unref?.();
    worker.onmessage = (event: MessageEvent<string>) => finish(slot, Effect.succeed(event.data));
    worker.onerror = (event: ErrorEvent) => {
      worker.terminate();
      if (slot.worker === worker) slot.worker = undefined;
      if (!closed) finish(slot, Effect.die(new Error(`fibonacci worker failed: ${event.message}`)));
    };
    return worker;
  };

  const slots = Array.from({ length: Math.max(1, options.workers) }, () => {
    const slot: Slot = { worker: undefined, job: undefined };
    slot.worker = hire(slot);
    return slot;
  });

  const fibonacci = (n: number) =>
    Effect.callback<string, ComputerSaturated>((resume) => {
      if (closed) {
        resume(Effect.interrupt);
        return;
      }
      const job: Job = { n, resume };
      const idle = slots.find((slot) => slot.job === undefined);
      if (idle) {
        start(idle, job);
      } else if (queue.length < options.queue) {
        queue.push(job);
      } else {
        rejected++;
        resume(Effect.fail(new ComputerSaturated({ retryAfterSeconds })));
        return;
      }
      // A caller that gives up leaves the queue; a running job finishes and is dropped.
      return Effect.sync(() => {
        const waiting = queue.indexOf(job);
        if (waiting >= 0) queue.splice(waiting, 1);
      });
    });

  const stats = Effect.sync(() => ({
    started,
    running: slots.filter((slot) => slot.job !== undefined).length,
    queued: queue.length,
    rejected,
  }));

  const close = () => {
    closed = true;
    for (const slot of slots) {
      slot.worker?.terminate();
      slot.job?.resume(Effect.interrupt);
      slot.job = undefined;
    }
    for (const job of queue.splice(0)) job.resume(Effect.interrupt);
  };

  return { service: { fibonacci, stats } satisfies FibonacciComputer["Service"], close };
};

export const WorkerFibonacciComputerLayer = (options: PoolOptions) =>
  Layer.effect(
    FibonacciComputer,
    Effect.map(
      Effect.acquireRelease(
        Effect.sync(() => makeWorkerPool(options)),
        (pool) => Effect.sync(pool.close),
      ),
      (pool) => pool.service,
    ),
  );

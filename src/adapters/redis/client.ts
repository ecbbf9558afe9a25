import { tracingChannel } from "node:diagnostics_channel";
import { createClient } from "redis";

export type Redis = ReturnType<typeof createRedis>;

export type RedisOptions = {
  readonly url: string;
  /** Every command fails after this long rather than hang a request. */
  readonly commandTimeoutMs: number;
  readonly onError?: (error: unknown) => void;
};

/**
 * node-redis traces every command unless `TracingChannel#hasSubscribers` says false, and Bun's
 * TracingChannel has no such getter: without this, each command pays for a trace nobody reads
 * (about a tenth of a protected request's CPU, measured).
 */
const tracing = Object.getPrototypeOf(tracingChannel("authlog:probe"));
if (!Object.hasOwn(tracing, "hasSubscribers")) {
  Object.defineProperty(tracing, "hasSubscribers", {
    get(
      this: Record<
        "start" | "end" | "asyncStart" | "asyncEnd" | "error",
        { hasSubscribers: boolean }
      >,
    ) {
      return (
        this.start.hasSubscribers ||
        this.end.hasSubscribers ||
        this.asyncStart.hasSubscribers ||
        this.asyncEnd.hasSubscribers ||
        this.error.hasSubscribers
      );
    },
  });
}

export class RedisTimeout extends Error {
  constructor(ms: number) {
    super(`redis command timed out after ${ms} ms`);
  }
}

/**
 * Deadlines for commands, swept by one timer: cheaper per command than node-redis's own
 * timeout, which arms an AbortSignal and listeners for each.
 */
export const deadlines = (ms: number) => {
  const pending = new Set<{ at: number; fail: (error: Error) => void }>();
  let timer: ReturnType<typeof setInterval> | undefined;
  const sweep = () => {
    const now = performance.now();
    for (const entry of pending) {
      if (entry.at <= now) {
        pending.delete(entry);
        entry.fail(new RedisTimeout(ms));
      }
    }
    if (pending.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };
  return <A>(promise: Promise<A>): Promise<A> =>
    new Promise<A>((resolve, reject) => {
      const entry = { at: performance.now() + ms, fail: reject };
      pending.add(entry);
      timer ??= setInterval(sweep, Math.max(5, Math.min(25, ms / 4)));
      timer.unref?.();
      promise.then(
        (value) => {
          pending.delete(entry);
          resolve(value);
        },
        (error) => {
          pending.delete(entry);
          reject(error);
        },
      );
    });
};

/**
 * A client for the hot path: no offline queue, so a command issued while disconnected fails at
 * once instead of waiting to be answered by a Redis that may have come back empty.
 */
export const createRedis = (options: RedisOptions) => {
  const client = createClient({
    url: options.url,
    disableOfflineQueue: true,
    // 0 turns off node-redis's per-command timer; callers race `deadlines` instead.
    commandOptions: { timeout: 0 },
    socket: {
      connectTimeout: Math.max(options.commandTimeoutMs, 1000),
      reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 1000),
    },
  });
  client.on("error", options.onError ?? (() => {}));
  return client;
};

import { createHash } from "node:crypto";
import { tracingChannel } from "node:diagnostics_channel";
import { createClient, createCluster } from "redis";

export type Redis = ReturnType<typeof createRedis>;
export type RedisCluster = ReturnType<typeof createRedisCluster>;

export type RedisOptions = {
  readonly url: string;
  /** Every command fails after this long rather than hang a request. */
  readonly commandTimeoutMs: number;
  readonly onError?: (error: unknown) => void;
  /** Called each time the connection is (again) ready for commands. */
  readonly onReady?: () => void;
};

/**
 * node-redis traces every command unless `TracingChannel#hasSubscribers` says false, and Bun's
 * TracingChannel has no such getter: without this, each command pays for a trace nobody reads.
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

/**
 * A Lua script run by its SHA1, loaded by the first call on each node that does not know it yet.
 * All its keys must share one slot on a Redis Cluster.
 */
export const luaScript = (source: string) => {
  const sha = createHash("sha1").update(source).digest("hex");
  return async (
    redis: Redis | RedisCluster,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<unknown> => {
    const options = { keys: [...keys], arguments: [...args] };
    try {
      return await redis.evalSha(sha, options);
    } catch (error) {
      if (!String(error).includes("NOSCRIPT")) throw error;
      return await redis.eval(source, options);
    }
  };
};

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
const clientOptions = (options: RedisOptions) => ({
  disableOfflineQueue: true,
  // 0 turns off node-redis's per-command timer; callers race `deadlines` instead.
  commandOptions: { timeout: 0 },
  socket: {
    connectTimeout: Math.max(options.commandTimeoutMs, 1000),
    reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000),
  },
});

export const createRedis = (options: RedisOptions) => {
  const client = createClient({ url: options.url, ...clientOptions(options) });
  client.on("error", options.onError ?? (() => {}));
  client.on("ready", options.onReady ?? (() => {}));
  return client;
};

const clusterScheme = /^(rediss?)-cluster:\/\/(?:([^@/]*)@)?([^/]+)\/?$/;

/** `redis-cluster://[user:password@]host:port,host:port,...` names a Redis Cluster by seed nodes. */
export const isClusterUrl = (url: string) => clusterScheme.test(url);

export const createRedisCluster = (options: RedisOptions) => {
  const match = clusterScheme.exec(options.url);
  if (!match?.[3]) throw new Error("not a redis-cluster:// URL");
  const [, scheme, credentials, hosts] = match;
  const auth = credentials ? `${credentials}@` : "";
  const cluster = createCluster({
    rootNodes: hosts.split(",").map((host) => ({ url: `${scheme}://${auth}${host.trim()}` })),
    defaults: clientOptions(options),
  });
  cluster.on("error", options.onError ?? (() => {}));
  return cluster;
};

type Log = (level: "warn" | "info", message: string, fields?: object) => void;

/**
 * Says once that a dependency went away and once that it came back, however many requests and
 * reconnect attempts fail in between.
 */
export const outage = (log: Log, say: { readonly down: string; readonly up: string }) => {
  let down = false;
  return {
    down: (error: unknown) => {
      if (down) return;
      down = true;
      log("warn", say.down, { error: String(error) });
    },
    up: () => {
      if (!down) return;
      down = false;
      log("info", say.up);
    },
  };
};

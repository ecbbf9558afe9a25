import { createClient } from "redis";

export type Redis = ReturnType<typeof createRedis>;

export type RedisOptions = {
  readonly url: string;
  /** Every command fails after this long rather than hang a request. */
  readonly commandTimeoutMs: number;
  readonly onError?: (error: unknown) => void;
};

/**
 * A client for the hot path: no offline queue, so a command issued while disconnected fails at
 * once instead of waiting to be answered by a Redis that may have come back empty.
 */
export const createRedis = (options: RedisOptions) => {
  const client = createClient({
    url: options.url,
    disableOfflineQueue: true,
    commandOptions: { timeout: options.commandTimeoutMs },
    socket: {
      connectTimeout: Math.max(options.commandTimeoutMs, 1000),
      reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 1000),
    },
  });
  client.on("error", options.onError ?? (() => {}));
  return client;
};

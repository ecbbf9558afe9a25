/** Values of the keys, null where absent, in order. */
export type MGet = (keys: string[]) => Promise<(string | null)[]>;

/**
 * MGET over Bun's native Redis client, for the token check on Bun (decision 32). It connects on
 * first use and reconnects by itself; the caller's deadline bounds every call.
 */
export const bunMget = (url: string): { readonly mget: MGet; readonly close: () => void } => {
  const client = new Bun.RedisClient(url, { autoReconnect: true, enableOfflineQueue: true });
  return {
    mget: (keys) => client.send("MGET", keys) as Promise<(string | null)[]>,
    close: () => client.close(),
  };
};

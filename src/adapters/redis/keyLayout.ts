/**
 * Where the token projection lives in Redis. The API writes it and the verifier library reads
 * it, so it is a contract of its own, versioned and described in docs/key-layout.md.
 */
export const keyLayoutVersion = 1;

/**
 * Every key of one user shares the hash tag `{u:<id>}`, so the hot-path lookup is one MGET on
 * one slot, also on Redis Cluster.
 */
export const tokenKeys = (prefix: string) => {
  const user = (userId: string) => `${prefix}{u:${userId}}`;
  return {
    epoch: (userId: string) => `${user(userId)}:epoch`,
    token: (userId: string, tokenId: string) => `${user(userId)}:jti:${tokenId}`,
    session: (userId: string, sessionId: string) => `${user(userId)}:sid:${sessionId}`,
    checkpoint: `${prefix}{meta}:checkpoint`,
    generation: `${prefix}{meta}:generation`,
    /** On a cluster: the generation once its slot copies were all seen in place. */
    copied: `${prefix}{meta}:copied`,
  };
};

import { Effect, Layer } from "effect";
import type { Checkpoint } from "../../application/ports/EventStore.ts";
import {
  type Marker,
  ProjectionLost,
  type ProjectionWrite,
  TokenState,
  TokenStateUnavailable,
  type TokenStatus,
} from "../../application/ports/TokenState.ts";
import type { MGet } from "./bunRedis.ts";
import { deadlines, luaScript, type Redis, type RedisCluster } from "./client.ts";
import { tokenKeys } from "./keyLayout.ts";

export { tokenKeys };

/**
 * Applies writes idempotently, KEYS[i] by ARGV[i]: "e<n>" raises an epoch to n unless it is
 * already higher (epochs only move up, so replaying an old event never resurrects a revoked
 * token); a number keeps a revocation until that epoch-millisecond time.
 */
const applyLoop = (from: number) => `for i = ${from}, #KEYS do
  local v = ARGV[i]
  if string.byte(v, 1) == 101 then
    local e = string.sub(v, 2)
    local c = redis.call('GET', KEYS[i])
    if not c or tonumber(e) > tonumber(c) then redis.call('SET', KEYS[i], e) end
  else
    redis.call('SET', KEYS[i], '1', 'PXAT', v)
  end
end
return #KEYS`;

const applyScript = luaScript(applyLoop(1));

/** The same, only while KEYS[1] still holds the generation ARGV[1]: -1 and no write otherwise. */
const guardedApplyScript = luaScript(
  `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end\n${applyLoop(2)}`,
);

/** KEYS: generation, checkpoint. Makes ARGV[1] the generation if there is none. */
const openScript = luaScript(`local g = redis.call('GET', KEYS[1])
if not g then
  g = ARGV[1]
  redis.call('SET', KEYS[1], g)
  redis.call('DEL', KEYS[2])
end
return {g, redis.call('GET', KEYS[2]) or false}`);

/** KEYS: generation, checkpoint. Saves ARGV[2] only while ARGV[1] is the generation. */
const saveScript = luaScript(`if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1`);

/** Keys per script call: a call blocks Redis, so each stays short. */
const applyBatch = 1_000;

const unavailable = (cause: unknown) => new TokenStateUnavailable({ cause });

/**
 * `coalesce`: requests of many users may travel together, which a single Redis allows and a
 * Redis Cluster does not (each user's keys are one slot, different users' keys are not).
 */
export const makeRedisTokenState = (
  redis: Redis | RedisCluster,
  prefix: string,
  timeoutMs: number,
  coalesce = true,
  mget: MGet = (keys) => redis.mGet(keys),
): TokenState["Service"] => {
  const keys = tokenKeys(prefix);
  const timed = deadlines(timeoutMs);

  type Lookup = {
    readonly keys: readonly [string, string, string];
    readonly done: (status: TokenStatus) => void;
    readonly failed: (error: TokenStateUnavailable) => void;
  };
  let lookups: Lookup[] = [];

  /**
   * The hot path. Lookups issued in one turn of the event loop travel as one MGET, each still
   * answered by that single round trip (decision 13). A Redis Cluster client sends one
   * single-slot MGET per user instead.
   */
  const flush = () => {
    const batch = lookups;
    lookups = [];
    const send = (group: readonly Lookup[]) =>
      timed(mget(group.flatMap((lookup) => lookup.keys))).then(
        (values) =>
          group.forEach((lookup, i) => {
            const epoch = values[i * 3];
            lookup.done({
              epoch: epoch == null ? null : Number(epoch),
              tokenRevoked: values[i * 3 + 1] != null,
              sessionRevoked: values[i * 3 + 2] != null,
            });
          }),
        (error) => {
          for (const lookup of group) lookup.failed(unavailable(error));
        },
      );
    if (coalesce) send(batch);
    else for (const lookup of batch) send([lookup]);
  };

  /**
   * The writes as script calls: the highest epoch of each user and the revocations still in
   * force, one call per user on a cluster, batches of users otherwise.
   */
  const scriptCalls = (writes: readonly ProjectionWrite[], nowMs: number) => {
    const users = new Map<string, { epoch: number; keys: string[]; args: string[] }>();
    for (const entry of writes) {
      if (entry.kind !== "epoch" && entry.expiresAt <= nowMs) continue;
      let user = users.get(entry.userId);
      if (!user) {
        user = { epoch: -1, keys: [], args: [] };
        users.set(entry.userId, user);
      }
      if (entry.kind === "epoch") {
        user.epoch = Math.max(user.epoch, entry.epoch);
      } else {
        user.keys.push(
          entry.kind === "revokeToken"
            ? keys.token(entry.userId, entry.tokenId)
            : keys.session(entry.userId, entry.sessionId),
        );
        user.args.push(String(entry.expiresAt));
      }
    }
    const calls: { keys: string[]; args: string[] }[] = [];
    let call = { keys: [] as string[], args: [] as string[] };
    let count = 0;
    for (const [userId, user] of users) {
      if (user.epoch >= 0) {
        user.keys.push(keys.epoch(userId));
        user.args.push(`e${user.epoch}`);
      }
      count += user.keys.length;
      if (user.keys.length === 0) continue;
      if (!coalesce) {
        calls.push(user);
        continue;
      }
      call.keys.push(...user.keys);
      call.args.push(...user.args);
      if (call.keys.length >= applyBatch) {
        calls.push(call);
        call = { keys: [], args: [] };
      }
    }
    if (call.keys.length > 0) calls.push(call);
    return { calls, count };
  };

  const enqueue = (
    userId: string,
    tokenId: string,
    sessionId: string,
    answer: Pick<Lookup, "done" | "failed">,
  ) => {
    lookups.push({
      keys: [keys.epoch(userId), keys.token(userId, tokenId), keys.session(userId, sessionId)],
      ...answer,
    });
    if (lookups.length === 1) setImmediate(flush);
  };

  const applyAll = async (writes: readonly ProjectionWrite[], nowMs: number) => {
    const { calls, count } = scriptCalls(writes, nowMs);
    // Issued together, the calls travel in one pipeline.
    await timed(Promise.all(calls.map((call) => applyScript(redis, call.keys, call.args))));
    return count;
  };

  return {
    lookup: (userId, tokenId, sessionId) =>
      Effect.callback<TokenStatus, TokenStateUnavailable>((resume) =>
        enqueue(userId, tokenId, sessionId, {
          done: (status) => resume(Effect.succeed(status)),
          failed: (error) => resume(Effect.fail(error)),
        }),
      ),
    lookupNow: (userId, tokenId, sessionId) =>
      new Promise((done, failed) => enqueue(userId, tokenId, sessionId, { done, failed })),
    apply: (writes, nowMs) =>
      Effect.tryPromise({ try: () => applyAll(writes, nowMs), catch: unavailable }),
    applyIn: (generation, writes, nowMs) =>
      Effect.tryPromise({
        try: async () => {
          if (!coalesce) {
            // A cluster keeps the marker in another slot than the users' keys: checked before
            // the writes, not with them.
            if ((await timed(redis.get(keys.generation))) !== generation) return -1;
            return applyAll(writes, nowMs);
          }
          const { calls, count } = scriptCalls(writes, nowMs);
          const replies = await timed(
            Promise.all(
              calls.map((call) =>
                guardedApplyScript(
                  redis,
                  [keys.generation, ...call.keys],
                  [generation, ...call.args],
                ),
              ),
            ),
          );
          return replies.some((reply) => Number(reply) < 0) ? -1 : count;
        },
        catch: unavailable,
      }).pipe(
        Effect.flatMap((count) =>
          count < 0 ? Effect.fail(new ProjectionLost({ generation })) : Effect.succeed(count),
        ),
      ),
    marker: Effect.tryPromise({
      try: () => timed(redis.mGet([keys.generation, keys.checkpoint])),
      catch: unavailable,
    }).pipe(Effect.map(([generation, checkpoint]) => toMarker(generation, checkpoint))),
    open: (candidate) =>
      Effect.tryPromise({
        try: () => timed(openScript(redis, [keys.generation, keys.checkpoint], [candidate])),
        catch: unavailable,
      }).pipe(
        Effect.map((reply) => {
          const [generation, checkpoint] = reply as [unknown, unknown];
          return toMarker(generation, checkpoint) ?? { generation: candidate, checkpoint: null };
        }),
      ),
    saveCheckpoint: (generation, checkpoint) =>
      Effect.tryPromise({
        try: () =>
          timed(saveScript(redis, [keys.generation, keys.checkpoint], [generation, checkpoint])),
        catch: unavailable,
      }).pipe(
        Effect.flatMap((saved) =>
          Number(saved) === 1 ? Effect.void : Effect.fail(new ProjectionLost({ generation })),
        ),
      ),
  };
};

const toMarker = (generation: unknown, checkpoint: unknown): Marker | null =>
  generation == null
    ? null
    : {
        generation: String(generation),
        checkpoint: checkpoint == null ? null : (String(checkpoint) as Checkpoint),
      };

export const RedisTokenStateLayer = (
  redis: Redis | RedisCluster,
  prefix: string,
  timeoutMs: number,
  coalesce: boolean,
  mget?: MGet,
) => Layer.succeed(TokenState, makeRedisTokenState(redis, prefix, timeoutMs, coalesce, mget));

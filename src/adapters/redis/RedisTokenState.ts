import { setTimeout as sleep } from "node:timers/promises";
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
import { slotCopies } from "./slotCopies.ts";

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

/**
 * KEYS: generation, checkpoint, copied. Makes ARGV[1] the generation if there is none or it is
 * ARGV[2]; the fourth value says whether it did.
 */
const clusterOpenScript = luaScript(`local g = redis.call('GET', KEYS[1])
if g and g ~= ARGV[2] then
  return {g, redis.call('GET', KEYS[2]) or false, redis.call('GET', KEYS[3]) or false, 0}
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3])
return {ARGV[1], false, false, 1}`);

/** KEYS: generation, checkpoint. Saves ARGV[2] only while ARGV[1] is the generation. */
const saveScript = luaScript(`if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1`);

/** Keys per script call: a call blocks Redis, so each stays short. */
const applyBatch = 1_000;

/** How long `open` on a cluster trusts copies it found complete, unless a write finds one gone. */
const recheckMs = 1_000;

const unavailable = (cause: unknown) => new TokenStateUnavailable({ cause });

/**
 * `cluster`: a Redis Cluster, where each user's keys are one slot and different users' keys are
 * not. Requests of different users then travel apart, and the generation is copied into every
 * slot, so that each write checks it in the slot it writes (decision 36).
 */
export const makeRedisTokenState = (
  redis: Redis | RedisCluster,
  prefix: string,
  timeoutMs: number,
  cluster = false,
  mget: MGet = (keys) => redis.mGet(keys),
): TokenState["Service"] => {
  const keys = tokenKeys(prefix);
  const timed = deadlines(timeoutMs);
  const copies = slotCopies(redis, prefix, timeoutMs);
  const guardOf = cluster ? copies.at : () => keys.generation;
  const unchecked = { generation: "", at: Number.NEGATIVE_INFINITY };
  let checked = unchecked;

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
    if (cluster) for (const lookup of batch) send([lookup]);
    else send(batch);
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
      if (cluster) {
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

  /** On a cluster: the marker, with no checkpoint while any slot copy is missing. */
  const clusterMarker = async () => {
    const [generation, checkpoint, copied] = await timed(
      redis.mGet([keys.generation, keys.checkpoint, keys.copied]),
    );
    if (generation == null) return null;
    const whole =
      checkpoint != null && copied === generation && (await copies.complete(generation));
    return toMarker(generation, whole ? checkpoint : null);
  };

  /**
   * On a cluster: a generation whose slot copies are all in place. Copies missing after they
   * were all seen went with a node's data, and that generation's writes can never land there
   * again: it is replaced. Copies another instance is still writing are waited for, and the
   * generation replaced if they never come.
   */
  const clusterOpen = async (candidate: string): Promise<Marker> => {
    // By then the instance that made the generation has written its copies, or failed to.
    const waitUntil = performance.now() + copies.ms + 500;
    let id = candidate;
    let made = 0;
    let stale = "";
    let replaced = 0;
    for (;;) {
      const [generation, checkpoint, copied, created] = (await timed(
        clusterOpenScript(redis, [keys.generation, keys.checkpoint, keys.copied], [id, stale]),
      )) as [string, string | null, string | null, number];
      const marker = toMarker(generation, checkpoint) as Marker;
      const sealed = copied === generation;
      if (created === 1) {
        id = `${candidate}.${++made}`;
        await copies.write(generation);
      } else if (
        sealed &&
        checked.generation === generation &&
        performance.now() - checked.at < recheckMs
      ) {
        return marker;
      }
      if (await copies.complete(generation)) {
        const seal = () =>
          saveScript(redis, [keys.generation, keys.copied], [generation, generation]);
        if (sealed || Number(await timed(seal())) === 1) {
          checked = { generation, at: performance.now() };
          return marker;
        }
      } else if (created === 1 || sealed || performance.now() > waitUntil) {
        if (++replaced > 3) throw new Error("new generations keep losing their slot copies");
        stale = generation;
      } else {
        await sleep(25);
      }
    }
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
          const { calls, count } = scriptCalls(writes, nowMs);
          const replies = await timed(
            Promise.all(
              calls.map((call) =>
                guardedApplyScript(
                  redis,
                  [guardOf(call.keys[0] as string), ...call.keys],
                  [generation, ...call.args],
                ),
              ),
            ),
          );
          if (!replies.some((reply) => Number(reply) < 0)) return count;
          checked = unchecked;
          return -1;
        },
        catch: unavailable,
      }).pipe(
        Effect.flatMap((count) =>
          count < 0 ? Effect.fail(new ProjectionLost({ generation })) : Effect.succeed(count),
        ),
      ),
    marker: cluster
      ? Effect.tryPromise({ try: clusterMarker, catch: unavailable })
      : Effect.tryPromise({
          try: () => timed(redis.mGet([keys.generation, keys.checkpoint])),
          catch: unavailable,
        }).pipe(Effect.map(([generation, checkpoint]) => toMarker(generation, checkpoint))),
    open: (candidate) =>
      cluster
        ? Effect.tryPromise({ try: () => clusterOpen(candidate), catch: unavailable })
        : Effect.tryPromise({
            try: () => timed(openScript(redis, [keys.generation, keys.checkpoint], [candidate])),
            catch: unavailable,
          }).pipe(
            Effect.map((reply) => {
              const [generation, checkpoint] = reply as [unknown, unknown];
              return (
                toMarker(generation, checkpoint) ?? { generation: candidate, checkpoint: null }
              );
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
  cluster: boolean,
  mget?: MGet,
) => Layer.succeed(TokenState, makeRedisTokenState(redis, prefix, timeoutMs, cluster, mget));

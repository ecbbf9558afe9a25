import { createRequire } from "node:module";
import { ErrorReply } from "redis";
import { deadlines, luaScript, type Redis, type RedisCluster } from "./client.ts";

/** node-redis's own slot function, required: Bun and Deno import this CommonJS module unalike. */
export const slotOf: (key: string) => number = createRequire(import.meta.url)(
  "@redis/client/dist/lib/utils/calculate-slot.js",
).default;

const slotCount = 16_384;

let tagTable: readonly string[] | undefined;

/** For each slot, the smallest number whose hash slot it is: `{<n>}` puts a key there. */
const tags = () => {
  if (tagTable) return tagTable;
  const found: string[] = new Array(slotCount);
  for (let n = 0, left = slotCount; left > 0; n++) {
    const slot = slotOf(String(n));
    if (found[slot] === undefined) {
      found[slot] = String(n);
      left--;
    }
  }
  tagTable = found;
  return found;
};

/**
 * How many of KEYS[1] and ARGV[2..] hold ARGV[1]. The keys are one node's, of many slots: only
 * KEYS[1] is declared, and it routes the call.
 */
const countScript = luaScript(`#!lua flags=allow-cross-slot-keys,no-writes
local n = 0
if redis.call('GET', KEYS[1]) == ARGV[1] then n = 1 end
for i = 2, #ARGV do
  if redis.call('GET', ARGV[i]) == ARGV[1] then n = n + 1 end
end
return n`);

/** The keys grouped by the master serving them, as the client last learned the slots. */
const byMaster = (redis: Redis | RedisCluster, keys: readonly string[]) => {
  if (!("slots" in redis)) return [keys];
  const groups = new Map<string, string[]>();
  keys.forEach((key, slot) => {
    const address = redis.slots[slot]?.master.address ?? "";
    const group = groups.get(address);
    if (group) group.push(key);
    else groups.set(address, [key]);
  });
  return [...groups.values()];
};

/**
 * A copy of the projection's generation in every hash slot (`<prefix>{<n>}:generation`), so
 * that a script writing one user's keys can check the generation in their own slot.
 */
export const slotCopies = (redis: Redis | RedisCluster, prefix: string, timeoutMs: number) => {
  let keys: readonly string[] | undefined;
  const all = () => {
    keys ??= tags().map((tag) => `${prefix}{${tag}}:generation`);
    return keys;
  };
  // 16,384 keys take longer than one command may.
  const ms = Math.max(timeoutMs, 2_000);
  const timed = deadlines(ms);

  const countByMaster = async (generation: string) => {
    const counts = await Promise.all(
      byMaster(redis, all()).map(([first = "", ...rest]) =>
        countScript(redis, [first], [generation, ...rest]),
      ),
    );
    return counts.reduce((sum: number, count) => sum + Number(count), 0);
  };

  return {
    /** How long writing or reading every copy may take. */
    ms,
    /** Every copy's key, by slot. */
    keys: all,
    /** The copy in the slot of `key`. */
    at: (key: string) => all()[slotOf(key)] as string,
    /**
     * Sets every copy, once per generation: a copy written again after its node lost data would
     * let that generation's writes land there as if nothing had been lost.
     */
    write: async (generation: string) => {
      await timed(Promise.all(all().map((key) => redis.set(key, generation))));
    },
    /**
     * Whether every copy holds `generation`: one script call per master, or one GET per slot
     * when a master refuses the call (slots moved, or a Redis without script flags).
     */
    complete: async (generation: string) => {
      try {
        return (await timed(countByMaster(generation))) === slotCount;
      } catch (error) {
        if (!(error instanceof ErrorReply)) throw error;
        const values = await timed(Promise.all(all().map((key) => redis.get(key))));
        return values.every((value) => value === generation);
      }
    },
  };
};

import { Effect, Layer } from "effect";
import {
  RateLimiter,
  RateLimiterUnavailable,
  type Take,
} from "../../application/ports/RateLimiter.ts";
import { deadlines, luaScript, type Redis, type RedisCluster, RedisTimeout } from "./client.ts";

// Each script touches one key, so every counter is atomic on its own slot, Redis Cluster too.
// A full counter is left untouched: more attempts neither count nor move the window's end.
const takeScript = luaScript(`local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) ttl = tonumber(ARGV[2]) end
  return {0, ttl}
end
n = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return {1, n}`);

// A counter back at zero is deleted: failed logins under fresh usernames leave nothing behind.
const giveScript = luaScript(`local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 1 then redis.call('DECR', KEYS[1]) elseif n == 1 then redis.call('DEL', KEYS[1]) end
return 0`);

const unavailable = (cause: unknown) => new RateLimiterUnavailable({ cause });

export const makeRedisRateLimiter = (
  redis: Redis | RedisCluster,
  prefix: string,
  timeoutMs: number,
): RateLimiter["Service"] => {
  const timed = deadlines(timeoutMs);
  const key = (name: string) => `${prefix}{rl:${name}}`;

  return {
    take: (name, max, windowMs) =>
      Effect.tryPromise({
        try: () => {
          const sent = takeScript(redis, [key(name)], [String(max), String(windowMs)]);
          return timed(sent).catch((error) => {
            // A take answered after its deadline still counted, though its attempt was refused
            // as unavailable: the slot goes back as soon as Redis answers.
            if (error instanceof RedisTimeout) {
              sent.then(
                (reply) => {
                  if (Number((reply as unknown[])[0]) === 1) {
                    giveScript(redis, [key(name)], []).catch(() => {});
                  }
                },
                () => {},
              );
            }
            throw error;
          });
        },
        catch: unavailable,
      }).pipe(
        Effect.map((reply): Take => {
          const [taken, value] = (reply as [number, number]).map(Number) as [number, number];
          return taken === 1
            ? { taken: true, count: value }
            : { taken: false, retryAfterMs: Math.max(value, 0) };
        }),
      ),
    give: (name) =>
      Effect.tryPromise({
        try: () => timed(giveScript(redis, [key(name)], [])),
        catch: unavailable,
      }).pipe(Effect.asVoid),
    hold: (name, ms) =>
      Effect.tryPromise({
        try: () => timed(redis.pExpire(key(name), ms)),
        catch: unavailable,
      }).pipe(Effect.asVoid),
  };
};

export const RedisRateLimiterLayer = (
  redis: Redis | RedisCluster,
  prefix: string,
  timeoutMs: number,
) => Layer.succeed(RateLimiter, makeRedisRateLimiter(redis, prefix, timeoutMs));

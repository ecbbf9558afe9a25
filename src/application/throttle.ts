import { Effect, Result } from "effect";
import { usernameKey } from "../domain/user/Username.ts";
import { InvalidCredentials, RateLimited } from "./errors.ts";
import { Limits } from "./ports/Limits.ts";
import { RateLimiter, type Take } from "./ports/RateLimiter.ts";

const retryAfter = (ms: number) =>
  new RateLimited({ retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)) });

const refusedFor = (take: Take) => (take.taken ? null : retryAfter(take.retryAfterMs));

type Counter = { readonly key: string; readonly max: number };

/** Slots per IP and username are taken before the check, kept on a wrong password (decision 18). */
export const limitPasswordChecks = <A, E, R>(
  username: string,
  clientIp: string | undefined,
  check: Effect.Effect<A, E, R>,
) =>
  Effect.gen(function* () {
    const limits = yield* Limits;
    const limiter = yield* RateLimiter;
    const window = limits.loginLockoutMs;
    const counters: Counter[] = [
      ...(clientIp ? [{ key: `login:ip:${clientIp}`, max: limits.loginMaxFailuresPerIp }] : []),
      { key: `login:${usernameKey(username)}`, max: limits.loginMaxFailuresPerUser },
    ];
    const giveBack = (which: readonly Counter[]) =>
      Effect.forEach(which, (counter) => limiter.give(counter.key), {
        concurrency: "unbounded",
        discard: true,
      }).pipe(Effect.ignore);

    // The IP counter first: a locked-out client creates no state per username it tries.
    const takes: Take[] = [];
    for (const counter of counters) {
      const take = yield* Effect.result(limiter.take(counter.key, counter.max, window));
      // Fail closed: unreadable counters would allow unlimited guessing during an outage.
      const refused = Result.isFailure(take) ? take.failure : refusedFor(take.success);
      if (refused) {
        yield* giveBack(counters.slice(0, takes.length));
        return yield* Effect.fail(refused);
      }
      if (Result.isSuccess(take)) takes.push(take.success);
    }

    const outcome = yield* Effect.result(check);
    if (Result.isFailure(outcome) && outcome.failure instanceof InvalidCredentials) {
      const full = counters.filter((counter, i) => {
        const take = takes[i];
        return take?.taken === true && take.count >= counter.max;
      });
      // Best effort: should it fail, the full counter still refuses until its window ends.
      yield* Effect.forEach(full, (counter) => limiter.hold(counter.key, window), {
        concurrency: "unbounded",
        discard: true,
      }).pipe(Effect.ignore);
    } else {
      yield* giveBack(counters);
    }
    return yield* Result.isFailure(outcome)
      ? Effect.fail(outcome.failure)
      : Effect.succeed(outcome.success);
  });

const hourMs = 3_600_000;

export const limitRegistrations = (clientIp: string | undefined) =>
  Effect.gen(function* () {
    const limits = yield* Limits;
    if (limits.registerPerIpPerHour === 0 || clientIp === undefined) return;
    const take = yield* (yield* RateLimiter).take(
      `register:ip:${clientIp}`,
      limits.registerPerIpPerHour,
      hourMs,
    );
    if (!take.taken) return yield* Effect.fail(retryAfter(take.retryAfterMs));
  });

import { fibonacci } from "../src/domain/fibonacci.ts";
import { requireWrk, startServer, type WrkResult, wrk } from "./server.ts";

/**
 * Does the heavy task stall other requests? The API runs as its own process (as in production);
 * two wrk connections keep two uncached F(max n) computations in flight all the time, while
 *
 * - event-loop lag: this process probes GET /health/live on a fixed 10 ms schedule (open loop,
 *   one probe per tick whatever the previous did). The route does no I/O, so its latency is the
 *   server's event-loop delay plus a constant HTTP cost: lag = probe latency minus the same
 *   percentile with no heavy task. Nothing is added to the server to measure it.
 * - load: wrk drives GET /secure/data (64 connections, rotating tokens); its p99 is compared
 *   with the p99 of the same run with no heavy task.
 *
 * The cached case runs on a second server with the cache on (Redis): one connection asks for
 * the cached F(max n) in a loop and wrk reports the latency.
 */
requireWrk();
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const maxN = Number(process.env.HEAVY_TASK_MAX_N ?? 100_000);
const workers = process.env.HEAVY_TASK_WORKERS;
const password = "benchmark password";
const users = 64;
const hashCost = { PASSWORD_HASH_MEMORY_KIB: "19456", PASSWORD_HASH_TIME_COST: "2" };

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

const tokensFor = async (base: string, count: number) => {
  const post = (path: string, body: unknown) =>
    fetch(`${base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    const username = `bench_heavy_${i}`;
    await post("/auth/register", { username, password });
    const login = (await (await post("/auth/login", { username, password })).json()) as {
      access_token: string;
    };
    tokens.push(login.access_token);
  }
  return tokens;
};

const rotating = (tokens: string[]) => `local tokens = {${tokens.map((t) => `"${t}"`).join(",")}}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. tokens[(i % #tokens) + 1] })
end`;
const bearer = (token: string) => `wrk.headers["Authorization"] = "Bearer ${token}"`;

/** GET /health/live every 10 ms for `ms`; the latency of each, in ms. */
const probe = async (base: string, ms: number) => {
  const latencies: number[] = [];
  const inFlight: Promise<void>[] = [];
  const until = performance.now() + ms;
  let next = performance.now();
  while (next < until) {
    const sent = performance.now();
    inFlight.push(
      fetch(`${base}/health/live`).then(async (response) => {
        await response.arrayBuffer();
        latencies.push(performance.now() - sent);
      }),
    );
    next += 10;
    await Bun.sleep(Math.max(0, next - performance.now()));
  }
  await Promise.all(inFlight);
  return latencies;
};

// What one computation would block an event loop for, measured here on the main thread.
const inline = median(
  Array.from({ length: 5 }, () => {
    const started = performance.now();
    fibonacci(maxN).toString();
    return performance.now() - started;
  }),
);

const uncached = await startServer("heavy", {
  ...hashCost,
  ENABLE_CACHE: "false",
  HEAVY_TASK_MAX_N: String(maxN),
  ...(workers ? { HEAVY_TASK_WORKERS: workers } : {}),
});
const lag = { idle: [] as number[], heavy: [] as number[] };
const load = { idle: [] as WrkResult[], heavy: [] as WrkResult[] };
const heavyRuns: WrkResult[] = [];
try {
  const tokens = await tokensFor(uncached.base, users);
  const heavyUrl = `${uncached.base}/secure/heavy-task?n=${maxN}`;
  const heavyScript = bearer(tokens[0] ?? "");
  const heavy = (s: number) => wrk(heavyUrl, { connections: 2, seconds: s, script: heavyScript });
  await wrk(`${uncached.base}/secure/data`, { seconds: 2, script: rotating(tokens) });

  for (let round = 0; round < rounds; round++) {
    lag.idle.push(...(await probe(uncached.base, seconds * 1000)));
    const [busy, probed] = await Promise.all([
      heavy(seconds + 1),
      Bun.sleep(500).then(() => probe(uncached.base, seconds * 1000)),
    ]);
    heavyRuns.push(busy);
    lag.heavy.push(...probed);

    load.idle.push(
      await wrk(`${uncached.base}/secure/data`, { seconds, script: rotating(tokens) }),
    );
    const [, loaded] = await Promise.all([
      heavy(seconds + 1),
      Bun.sleep(500).then(() =>
        wrk(`${uncached.base}/secure/data`, { seconds, script: rotating(tokens) }),
      ),
    ]);
    load.heavy.push(loaded);
  }
} finally {
  await uncached.stop();
}

const cachedServer = await startServer("heavycache", {
  ...hashCost,
  HEAVY_TASK_MAX_N: String(maxN),
});
let hit: WrkResult;
let firstMiss: number;
try {
  const [token] = await tokensFor(cachedServer.base, 1);
  const url = `${cachedServer.base}/secure/heavy-task?n=${maxN}`;
  const started = performance.now();
  const first = (await (
    await fetch(url, { headers: { authorization: `Bearer ${token}` } })
  ).json()) as { cached: boolean };
  firstMiss = performance.now() - started;
  if (first.cached) throw new Error("expected a miss on the first call");
  hit = await wrk(url, { connections: 1, seconds, script: bearer(token ?? "") });
} finally {
  await cachedServer.stop();
}

const f = (value: number) => value.toFixed(2);
const p = (values: number[], q: number) => percentile(values, q);
const idleP99 = median(load.idle.map((r) => r.p99));
const heavyP99 = median(load.heavy.map((r) => r.p99));

console.log(
  `\nn = ${maxN}, ${workers ?? "default"} workers, ${seconds} s a run, ${rounds} rounds (medians; probes pooled)\n`,
);
console.log("| measure | no heavy task | 2 heavy tasks in flight |");
console.log("|---|---:|---:|");
console.log(
  `| GET /health/live probe, p50 / p99 / max ms | ${f(p(lag.idle, 50))} / ${f(p(lag.idle, 99))} / ${f(Math.max(...lag.idle))} | ${f(p(lag.heavy, 50))} / ${f(p(lag.heavy, 99))} / ${f(Math.max(...lag.heavy))} |`,
);
console.log(
  `| GET /secure/data under wrk -c64: req/s | ${median(load.idle.map((r) => r.rps)).toFixed(0)} | ${median(load.heavy.map((r) => r.rps)).toFixed(0)} |`,
);
console.log(
  `| GET /secure/data under wrk -c64: p50 / p99 ms | ${f(median(load.idle.map((r) => r.p50)))} / ${f(idleP99)} | ${f(median(load.heavy.map((r) => r.p50)))} / ${f(heavyP99)} |`,
);
console.log(
  `| uncached F(${maxN}) answered, req/s (wrk -c2) | - | ${median(heavyRuns.map((r) => r.rps)).toFixed(0)} |`,
);
console.log(
  `\nevent-loop lag, bounded by the probe's p99 with heavy tasks: ${f(p(lag.heavy, 99))} ms (target < 10 ms; idle p99 ${f(p(lag.idle, 99))} ms); one F(${maxN}) on the event loop would block it for ${f(inline)} ms`,
);
console.log(
  `/secure/data p99 with / without heavy tasks: ${(heavyP99 / idleP99).toFixed(2)}x (per round: ${load.heavy.map((r, i) => (r.p99 / (load.idle[i]?.p99 ?? 1)).toFixed(2)).join(", ")}; target <= 1.5x)`,
);
console.log(
  `cached F(${maxN}) over Redis, wrk -c1: p50 ${f(hit.p50)} ms, p99 ${f(hit.p99)} ms, ${hit.rps.toFixed(0)} req/s (target p50 < 1 ms); first (uncached) call ${f(firstMiss)} ms`,
);

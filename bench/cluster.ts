import { Effect } from "effect";
import { createRedisCluster } from "../src/adapters/redis/client.ts";
import { makeRedisTokenState } from "../src/adapters/redis/RedisTokenState.ts";
import { slotCopies } from "../src/adapters/redis/slotCopies.ts";
import { throwawayCluster } from "../tests/support/redisServer.ts";

/**
 * What the generation's copy in every slot costs on a three-master cluster started here:
 * writing them all, reading them all (one script per master, and one GET per slot as when a
 * master refuses the script), and `open` and `marker` as the projector and readiness call them.
 */
const rounds = Number(process.env.BENCH_ROUNDS ?? 20);
const cluster = await throwawayCluster();
const redis = createRedisCluster({ url: cluster.url, commandTimeoutMs: 10_000 });
await redis.connect();

const median = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
const time = async (
  name: string,
  run: (round: number) => Promise<unknown>,
  before: () => Promise<unknown> = async () => {},
) => {
  const samples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    await before();
    const started = performance.now();
    await run(round);
    samples.push(performance.now() - started);
  }
  console.log(
    `${name.padEnd(44)} median ${median(samples).toFixed(1)} ms, max ${Math.max(...samples).toFixed(1)} ms`,
  );
};

const usedMemory = async () => {
  let bytes = 0;
  for (const port of cluster.ports) {
    bytes += Number(/used_memory:(\d+)/.exec(await cluster.cli(port, "info", "memory"))?.[1]);
  }
  return bytes;
};

try {
  const copies = slotCopies(redis, "bench:", 10_000);
  const before = await usedMemory();
  const tagsStarted = performance.now();
  copies.at("any");
  console.log(
    `${"slot tags computed".padEnd(44)} ${(performance.now() - tagsStarted).toFixed(1)} ms`,
  );
  await time("write every copy (one SET per slot)", (round) => copies.write(`g${round}`));
  console.log(
    `${"memory of every copy".padEnd(44)} ${(((await usedMemory()) - before) / 1e6).toFixed(1)} MB`,
  );
  await time("read every copy (one script per master)", () => copies.complete(`g${rounds - 1}`));
  await time("read every copy (one GET per slot)", () =>
    Promise.all(copies.keys().map((key) => redis.get(key))),
  );
  const state = makeRedisTokenState(redis, "bench:state:", 10_000, true);
  const emptied = async () => {
    for (const port of cluster.ports) await cluster.cli(port, "flushall");
  };
  await time(
    "open a new generation (write, read, seal)",
    (round) => Effect.runPromise(state.open(`open-${round}`)),
    emptied,
  );
  await Effect.runPromise(state.saveCheckpoint(`open-${rounds - 1}`, "1:1:"));
  await time("marker (readiness)", () => Effect.runPromise(state.marker));
} finally {
  redis.destroy();
  await cluster.stop();
}

import { afterAll, describe, expect, test } from "bun:test";
import { Effect } from "effect";
import { createRedisCluster } from "../../src/adapters/redis/client.ts";
import { tokenKeys } from "../../src/adapters/redis/keyLayout.ts";
import { makeRedisTokenState } from "../../src/adapters/redis/RedisTokenState.ts";
import { slotOf } from "../../src/adapters/redis/slotCopies.ts";
import { ProjectionLost, type ProjectionWrite } from "../../src/application/ports/TokenState.ts";
import { realTime } from "../contract/contractTime.ts";
import { tokenStateContract } from "../contract/tokenStateContract.ts";
import { lifecycleSuite } from "../http/lifecycleSuite.ts";
import { throwawayCluster } from "../support/redisServer.ts";
import { baseEnv } from "../support/run.ts";
import { apiCalls, spawnApi, storageFor } from "../support/server.ts";

/** The key design is proven on a real three-master Redis Cluster started here. */
const cluster = await throwawayCluster();
const redis = createRedisCluster({ url: cluster.url, commandTimeoutMs: 5000 });
await redis.connect();
afterAll(async () => {
  redis.destroy();
  await cluster.stop();
});

let runs = 0;
const fresh = () => {
  const prefix = `state:${runs++}:`;
  return { keys: tokenKeys(prefix), state: makeRedisTokenState(redis, prefix, 2000, true) };
};
const emptyAll = async () => {
  for (const port of cluster.ports) await cluster.cli(port, "flushall");
};

describe("Redis Cluster", () => {
  test("every key the hot path reads for one user lives in one slot", async () => {
    const keys = tokenKeys("auth:");
    const slots = new Set<string>();
    for (const key of [
      keys.epoch("u-42"),
      keys.token("u-42", "j-1"),
      keys.session("u-42", "s-1"),
    ]) {
      slots.add(await cluster.cli(cluster.ports[0] as number, "cluster", "keyslot", key));
    }
    expect(slots.size).toBe(1);
    const other = await cluster.cli(
      cluster.ports[0] as number,
      "cluster",
      "keyslot",
      keys.epoch("u-43"),
    );
    expect(other).not.toBe([...slots][0]);
  });

  test("replay and verify work against the cluster", async () => {
    const storage = storageFor("cluster");
    const env = { ...storage.env, REDIS_URL: cluster.url };
    const api = await spawnApi(env, { quiet: true });
    try {
      const { post } = apiCalls(() => api.base, "");
      const credentials = { username: "cluster_user", password: "correct horse battery" };
      expect((await post("/auth/register", credentials)).status).toBe(201);
      const { access_token } = (await (await post("/auth/login", credentials)).json()) as {
        access_token: string;
      };
      expect((await post("/auth/logout", undefined, access_token)).status).toBe(204);
      const cli = (...args: string[]) =>
        Bun.spawn([process.execPath, "src/adapters/cli/cli.ts", "replay", ...args], {
          cwd: `${import.meta.dir}/../..`,
          env: { ...baseEnv(), NODE_ENV: "production", ...env },
          stdout: "pipe",
          stderr: "pipe",
        });
      const replayed = cli();
      const out = await new Response(replayed.stdout).text();
      console.log(out, await new Response(replayed.stderr).text());
      expect(out).toContain("replayed");
      expect(await replayed.exited).toBe(0);
      const verified = cli("--verify");
      expect(await new Response(verified.stdout).text()).toContain("0 differences");
      expect(await verified.exited).toBe(0);
    } finally {
      await api.stop();
      await storage.drop();
    }
  });
});

tokenStateContract("Redis Cluster", realTime, async () => fresh().state, emptyAll);

describe("the generation on a Redis Cluster", () => {
  const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect);
  const failure = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(Effect.flip(effect));
  const later = () => Date.now() + 60_000;

  test("a master emptied takes its slots' copies: the generation's writes there fail, its marker loses the checkpoint, open starts a new one", async () => {
    const { keys, state } = fresh();
    const metaMaster = await cluster.masterOf(keys.generation);
    let userId = "u0";
    for (let i = 1; (await cluster.masterOf(keys.epoch(userId))) === metaMaster; i++) {
      userId = `u${i}`;
    }
    const revoke: ProjectionWrite = {
      kind: "revokeToken",
      userId,
      tokenId: "j1",
      expiresAt: later(),
    };
    const epoch: ProjectionWrite = { kind: "epoch", userId, epoch: 1 };
    await run(state.open("g1"));
    expect(await run(state.applyIn("g1", [revoke], Date.now()))).toBe(1);
    await run(state.saveCheckpoint("g1", "1:1:"));
    expect(await run(state.marker)).toEqual({ generation: "g1", checkpoint: "1:1:" });

    await cluster.cli(await cluster.masterOf(keys.epoch(userId)), "flushall");
    expect(await run(state.marker)).toEqual({ generation: "g1", checkpoint: null });
    expect(await failure(state.applyIn("g1", [epoch], Date.now()))).toBeInstanceOf(ProjectionLost);
    expect((await run(state.lookup(userId, "j1", "s"))).epoch).toBeNull();
    expect(await run(state.open("g2"))).toEqual({ generation: "g2", checkpoint: null });
    expect(await failure(state.applyIn("g1", [epoch], Date.now()))).toBeInstanceOf(ProjectionLost);
    expect(await run(state.applyIn("g2", [revoke, epoch], Date.now()))).toBe(2);
    expect(await run(state.lookup(userId, "j1", "s"))).toEqual({
      epoch: 1,
      tokenRevoked: true,
      sessionRevoked: false,
    });
  });

  test("slots moved to another master: the copies move along, are still found complete, and writes there land", async () => {
    const { keys, state } = fresh();
    await run(state.open("g1"));
    await run(state.saveCheckpoint("g1", "1:1:"));
    const [from = 0, to = 0] = cluster.ports;
    const [fromId = "", toId = ""] = await Promise.all(
      [from, to].map((port) => cluster.cli(port, "cluster", "myid")),
    );
    const moved = await Bun.spawn(
      [
        "redis-cli",
        "--cluster",
        "reshard",
        `127.0.0.1:${from}`,
        "--cluster-from",
        fromId,
        "--cluster-to",
        toId,
        "--cluster-slots",
        "500",
        "--cluster-yes",
      ],
      { stdout: "ignore", stderr: "ignore" },
    ).exited;
    expect(moved).toBe(0);
    // A user the client still places on the old master.
    let userId = "";
    for (let i = 0; i < 2000 && !userId; i++) {
      const key = keys.epoch(`m${i}`);
      const known = redis.slots[slotOf(key)]?.master.address.endsWith(`:${from}`);
      if (known && (await cluster.masterOf(key)) === to) userId = `m${i}`;
    }
    expect(userId).not.toBe("");
    expect(await run(state.marker)).toEqual({ generation: "g1", checkpoint: "1:1:" });
    const epoch: ProjectionWrite = { kind: "epoch", userId, epoch: 3 };
    expect(await run(state.applyIn("g1", [epoch], Date.now()))).toBe(1);
    expect((await run(state.lookup(userId, "j", "s"))).epoch).toBe(3);
  });
});

lifecycleSuite("servers", { REDIS_URL: cluster.url });

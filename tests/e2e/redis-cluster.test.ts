import { afterAll, describe, expect, test } from "bun:test";
import { tokenKeys } from "../../src/adapters/redis/RedisTokenState.ts";
import { lifecycleSuite } from "../http/lifecycleSuite.ts";
import { throwawayCluster } from "../support/redisServer.ts";
import { baseEnv } from "../support/run.ts";
import { spawnApi, storageFor } from "../support/server.ts";

/** The key design is proven on a real three-master Redis Cluster started here. */
const cluster = await throwawayCluster();
afterAll(() => cluster.stop());

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
      const post = (path: string, body?: unknown, token?: string) =>
        fetch(`${api.base}${path}`, {
          method: "POST",
          headers: {
            ...(body === undefined ? {} : { "content-type": "application/json" }),
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
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
        });
      const replayed = cli();
      expect(await new Response(replayed.stdout).text()).toContain("replayed");
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

lifecycleSuite("servers", { REDIS_URL: cluster.url });

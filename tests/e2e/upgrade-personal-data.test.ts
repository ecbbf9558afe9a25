import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Effect, Layer, ManagedRuntime } from "effect";
import { loadConfig } from "../../src/adapters/config/Config.ts";
import { EmbeddedEventStoreLayer } from "../../src/adapters/embedded/EmbeddedEventStore.ts";
import { MemoryRateLimiterLayer } from "../../src/adapters/embedded/MemoryRateLimiter.ts";
import { MemoryTokenStateLayer } from "../../src/adapters/embedded/MemoryTokenState.ts";
import { SqliteDirectoryLayer } from "../../src/adapters/embedded/SqliteDirectory.ts";
import { createSql } from "../../src/adapters/postgres/client.ts";
import { PostgresDataKeysFromUrl } from "../../src/adapters/postgres/PostgresDataKeys.ts";
import { PostgresDirectoryFromUrl } from "../../src/adapters/postgres/PostgresDirectory.ts";
import { PostgresEventStoreFromUrl } from "../../src/adapters/postgres/PostgresEventStore.ts";
import { login } from "../../src/application/login.ts";
import { register } from "../../src/application/register.ts";
import { type Infrastructure, services } from "../../src/composition.ts";
import { dumpFiles, dumpSchema, holding } from "../support/rawStorage.ts";
import { baseEnv, runScript } from "../support/run.ts";
import { apiCalls, databaseUrl, spawnApi, storageFor } from "../support/server.ts";

const password = "correct horse battery";

/** The services as they were before personal fields were sealed: the stores with nothing between. */
const legacyInfrastructure = (env: Record<string, string>): Infrastructure => {
  if (env.DATA_DIR !== undefined) {
    return Layer.mergeAll(
      EmbeddedEventStoreLayer(env.DATA_DIR),
      SqliteDirectoryLayer(env.DATA_DIR),
      MemoryTokenStateLayer,
      MemoryRateLimiterLayer,
    );
  }
  const database = { url: databaseUrl, schema: env.DATABASE_SCHEMA ?? "" };
  return Layer.mergeAll(
    PostgresDataKeysFromUrl(database).pipe(Layer.provideMerge(PostgresEventStoreFromUrl(database))),
    PostgresDirectoryFromUrl(database),
    MemoryTokenStateLayer,
    MemoryRateLimiterLayer,
  );
};

type Person = { readonly name: string; readonly ip: string; readonly agent: string };

/** Registers and logs in each person the way the code before erasure wrote their events. */
const writeLegacyLog = async (env: Record<string, string>, people: readonly Person[]) => {
  const loaded = loadConfig({ NODE_ENV: "test", REGISTER_RATE_LIMIT: "0", ...env });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const quiet = () => {};
  const runtime = ManagedRuntime.make(services(loaded.config, legacyInfrastructure(env), quiet));
  try {
    for (const { name, ip, agent } of people) {
      const metadata = { clientIp: ip, userAgent: agent, requestId: crypto.randomUUID() };
      await runtime.runPromise(register({ username: name, password }, metadata));
      await runtime.runPromise(login({ username: name, password }, metadata).pipe(Effect.asVoid));
    }
  } finally {
    await runtime.dispose();
  }
};

const upgradeSuite = (mode: "servers" | "embedded") =>
  describe(`upgrade-personal-data (${mode})`, () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const people: Person[] = [1, 2].map((i) => ({
      name: `Legacy_${tag}_${i}`,
      ip: `203.0.113.${10 + i}`,
      agent: `LegacyBrowser/${tag}.${i}`,
    }));
    const [alice, bob] = people as [Person, Person];
    const servers = storageFor("upgrade");
    const dataDir = `${process.env.TMPDIR ?? "/tmp"}/authlog-upgrade-${tag}`;
    const env: Record<string, string> =
      mode === "servers"
        ? servers.env
        : { DATA_DIR: dataDir, JWT_SECRET: `${crypto.randomUUID()}${crypto.randomUUID()}` };
    let api: Awaited<ReturnType<typeof spawnApi>> | undefined;
    const calls = apiCalls(() => api?.base ?? "", password);

    const cli = (...args: string[]) =>
      runScript("src/adapters/cli/cli.ts", args, {
        env: { ...baseEnv(), NODE_ENV: "production", ...env },
      });
    const dump = async () =>
      mode === "servers" ? dumpSchema(databaseUrl, servers.schema) : dumpFiles(dataDir);
    const storedEvents = async () => {
      if (mode === "servers") return (await dumpSchema(databaseUrl, servers.schema)).get("events");
      const db = new Database(`${dataDir}/events.sqlite`, { readonly: true });
      try {
        return JSON.stringify(db.query("select * from events order by position").all());
      } finally {
        db.close();
      }
    };
    const serve = async () => {
      api = await spawnApi(env, { quiet: true });
    };
    const stop = async () => {
      await api?.stop();
      api = undefined;
    };
    const fieldsOf = (p: Person) => [p.name, p.ip, p.agent];

    beforeAll(async () => {
      await writeLegacyLog(env, people);
      expect((await cli("seal")).code).toBe(0);
    });
    afterAll(async () => {
      await stop();
      if (mode === "servers") await servers.drop();
      else await Bun.$`rm -rf ${dataDir}`.quiet();
    });

    test("the log written before erasure holds the fields in plain and verifies", async () => {
      const found = holding(await dump(), fieldsOf(alice));
      expect(found).toContain(mode === "servers" ? "events" : "events.sqlite");
      expect((await cli("verify-log")).code).toBe(0);
    });

    if (mode === "embedded") {
      test("embedded, the upgrade refuses while the server holds DATA_DIR, and changes nothing", async () => {
        await serve();
        const before = holding(await dump(), fieldsOf(alice));
        const refused = await cli("upgrade-personal-data");
        expect(refused.code).toBe(3);
        expect(refused.stderr).toContain("stop the server first");
        await stop();
        expect(holding(await dump(), fieldsOf(alice))).toEqual(before);
      });
    }

    test("after the upgrade verify-log passes and the fields are in plain only in the directory", async () => {
      if (mode === "servers") await serve();
      const upgraded = await cli("upgrade-personal-data");
      expect(upgraded.code).toBe(0);
      expect(upgraded.stdout).toMatch(/Sealed the personal fields of [1-9]\d* events/);
      expect(upgraded.stdout).toContain("no longer match");
      const verified = await cli("verify-log");
      expect(verified.code).toBe(0);
      expect(verified.stdout).toContain("Intact");
      const found = holding(await dump(), people.flatMap(fieldsOf));
      expect(found.length).toBeGreaterThan(0);
      expect(found.every((name) => name.startsWith("directory"))).toBe(true);
    });

    test("running the upgrade again changes nothing", async () => {
      const before = await storedEvents();
      const again = await cli("upgrade-personal-data");
      expect(again.code).toBe(0);
      expect(again.stdout).toContain("Nothing to upgrade");
      expect(await storedEvents()).toBe(before);
    });

    test("the upgraded users log in; erasing one leaves none of its fields, replay and the chains stay clean", async () => {
      if (mode === "embedded") await serve();
      await calls.login(alice.name);
      await calls.login(bob.name);
      if (mode === "embedded") await stop();
      const erased = await cli("users", "erase", alice.name);
      expect(erased.code).toBe(0);
      expect(holding(await dump(), fieldsOf(alice))).toEqual([]);
      expect(holding(await dump(), [bob.name]).length).toBeGreaterThan(0);
      expect((await cli("replay")).code).toBe(0);
      const checked = await cli("replay", "--verify");
      expect(checked.code).toBe(0);
      expect(`${checked.stdout}${checked.stderr}`).toMatch(/\b0 differences\b/);
      expect((await cli("verify-log")).code).toBe(0);
      if (mode === "embedded") await serve();
      await calls.login(bob.name);
      expect((await calls.post("/auth/login", { username: alice.name, password })).status).toBe(
        401,
      );
    });
  });

upgradeSuite("servers");
upgradeSuite("embedded");

describe("upgrade-personal-data on an edited log", () => {
  const storage = storageFor("upgrade_edited");
  const person = {
    name: `Edited_${crypto.randomUUID().slice(0, 8)}`,
    ip: "203.0.113.99",
    agent: "EditedBrowser/1",
  };
  afterAll(() => storage.drop());

  test("refuses with the break named and rewrites nothing, as re-chaining would hide the edit", async () => {
    await writeLegacyLog(storage.env, [person]);
    const sql = createSql({ url: databaseUrl, schema: storage.schema, max: 1 });
    try {
      await sql`update events set data = jsonb_set(data, '{role}', '"admin"')
                where type = 'UserRegistered'`;
    } finally {
      await sql.end();
    }
    const refused = await runScript("src/adapters/cli/cli.ts", ["upgrade-personal-data"], {
      env: { ...baseEnv(), NODE_ENV: "production", ...storage.env },
    });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain("Broken: stream user-");
    expect(refused.stdout).toContain("Nothing was rewritten");
    const dumped = await dumpSchema(databaseUrl, storage.schema);
    expect(holding(dumped, [person.name])).toContain("events");
    expect(dumped.get("events")).not.toContain("PersonalDataUpgradeStarted");
  });
});

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openEmbeddedEventStore } from "../../src/adapters/embedded/EmbeddedEventStore.ts";
import { baseEnv, runScript } from "../support/run.ts";
import { spawnApi, storageFor } from "../support/server.ts";

describe("the admin CLI (PostgreSQL + Redis)", () => {
  const storage = storageFor("cli");
  afterAll(() => storage.drop());

  const cli = async (
    args: string[],
    options: { stdin?: string; env?: Record<string, string> } = {},
  ) => {
    return runScript("src/adapters/cli/cli.ts", args, {
      env: { ...baseEnv(), ...storage.env, LOG_LEVEL: "warn", ...options.env },
      ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
    });
  };

  test("users list, disable, enable and logout: a disabled user's token dies and login gets 403", async () => {
    const made = await cli(["create-user", "carol_cli"], {
      env: { AUTHLOG_PASSWORD: "carol password 1" },
    });
    expect(made.code).toBe(0);
    const api = await spawnApi(storage.env, { quiet: true });
    try {
      const login = () =>
        fetch(`${api.base}/auth/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username: "carol_cli", password: "carol password 1" }),
        });
      const { access_token: token } = (await (await login()).json()) as { access_token: string };
      const me = () =>
        fetch(`${api.base}/auth/me`, { headers: { authorization: `Bearer ${token}` } });
      expect((await me()).status).toBe(200);
      const listed = await cli(["users", "list", "--q", "CAROL_"]);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toMatch(/\tcarol_cli\tuser\tactive\t/);
      const disabled = await cli([
        "users",
        "disable",
        "carol_cli",
        "--until",
        "2999-01-01T00:00:00Z",
      ]);
      expect(disabled).toMatchObject({ code: 0 });
      expect(disabled.stdout).toContain("carol_cli");
      expect(disabled.stdout).toContain("is disabled");
      expect((await me()).status).toBe(401);
      expect((await login()).status).toBe(403);
      expect((await cli(["users", "enable", "carol_cli"])).code).toBe(0);
      expect((await login()).status).toBe(200);
      expect((await cli(["users", "logout", "carol_cli"])).code).toBe(0);
      expect((await cli(["users", "logout", "nobody_here"])).code).toBe(1);
    } finally {
      await api.stop();
    }
  });

  test("creates an admin and a user, changes roles, lists events; refusals exit non-zero", async () => {
    const created = await cli(["create-user", "alice", "--role", "admin", "--password-stdin"], {
      stdin: "alice password 1\n",
    });
    expect(created).toMatchObject({ code: 0, stderr: "" });
    expect(created.stdout).toMatch(/^created admin alice \(id [0-9a-f-]+\)\n$/);

    const taken = await cli(["create-user", "ALICE", "--password-stdin"], {
      stdin: "whatever 1234",
    });
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain("taken");

    const last = await cli(["change-role", "alice", "user"]);
    expect(last.code).toBe(1);
    expect(last.stderr).toContain("no admin");

    const bob = await cli(["create-user", "bob"], { env: { AUTHLOG_PASSWORD: "bob password 1" } });
    expect(bob.code).toBe(0);
    expect(bob.stdout).toStartWith("created user bob");

    const api = await spawnApi(storage.env, { quiet: true });
    try {
      const login = await fetch(`${api.base}/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "bob", password: "bob password 1" }),
      });
      const { access_token: token } = (await login.json()) as { access_token: string };
      const data = () =>
        fetch(`${api.base}/secure/data`, { headers: { authorization: `Bearer ${token}` } });
      expect((await data()).status).toBe(200);

      const beforeChange = new Date().toISOString();
      const promoted = await cli(["change-role", "bob", "admin"]);
      expect(promoted.code).toBe(0);
      expect(promoted.stdout).toMatch(/^bob \(id [0-9a-f-]+\) is now admin\n$/);
      // The running instance refuses the old token at once: the CLI projected the change.
      expect((await data()).status).toBe(401);

      const inspect = async (...args: string[]) => {
        const run = await cli(["tokens", "inspect", token, ...args]);
        expect(run.code).toBe(0);
        return JSON.parse(run.stdout) as Record<string, unknown>;
      };
      expect(await inspect("--at", beforeChange)).toMatchObject({ valid: true, code: null });
      expect(await inspect()).toMatchObject({
        genuine: true,
        valid: false,
        code: "role_changed",
        caused_by: { type: "RoleChanged", actor: expect.stringMatching(/^cli:/) },
      });
      const badTime = await cli(["tokens", "inspect", token, "--at", "soon"]);
      expect(badTime.code).toBe(2);
      expect(badTime.stderr).toContain("--at must be");
    } finally {
      await api.stop();
    }

    const events = await cli(["events", "bob"]);
    expect(events.code).toBe(0);
    const lines = events.stdout.trim().split("\n");
    // position, time, stream, type, who, data: bob's login is his session's stream.
    expect(lines.map((line) => line.split("\t")[3])).toEqual([
      "UserRegistered",
      "SessionStarted",
      "RoleChanged",
    ]);
    expect(lines[1]?.split("\t")[2]).toStartWith("session-");
    expect(lines[2]).toContain("actor=cli:");
    expect(events.stdout).not.toMatch(/argon2|hash|bob password/i);

    const json = JSON.parse((await cli(["events", "bob", "--json"])).stdout) as { type: string }[];
    expect(json.map((e) => e.type)).toEqual(["UserRegistered", "SessionStarted", "RoleChanged"]);

    const unknown = await cli(["events", "nobody_at_all"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("No such user");
  }, 60_000);

  test("clients: create prints the id and secret once, list shows no secret, revoke ends it", async () => {
    const created = await cli(["clients", "create", "Billing API"]);
    expect(created.code).toBe(0);
    const made = /^client_id=([0-9a-f-]{36})\nclient_secret=([A-Za-z0-9_-]{43})\n$/.exec(
      created.stdout,
    );
    expect(made).not.toBeNull();
    const [, id = "", clientSecret = ""] = made ?? [];
    expect(created.stderr).toContain("shown only now");

    const api = await spawnApi(storage.env, { quiet: true });
    try {
      const introspect = () =>
        fetch(`${api.base}/oauth/introspect`, {
          method: "POST",
          headers: { authorization: `Basic ${btoa(`${id}:${clientSecret}`)}` },
          body: new URLSearchParams({ token: "not-a-jwt" }),
        });
      const live = await introspect();
      expect(live.status).toBe(200);
      expect(await live.json()).toEqual({ active: false });

      const listed = await cli(["clients", "list"]);
      expect(listed.code).toBe(0);
      expect(listed.stdout).not.toContain(clientSecret);
      const row = listed.stdout.split("\n").find((line) => line.startsWith(id));
      expect(row?.split("\t").slice(0, 3)).toEqual([id, "Billing API", "active"]);

      const revoked = await cli(["clients", "revoke", id]);
      expect(revoked).toMatchObject({ code: 0, stdout: `client ${id} is revoked\n` });
      // The running instance refuses the client on its next call.
      expect((await introspect()).status).toBe(401);
      const after = await cli(["clients", "list"]);
      expect(after.stdout.split("\n").find((line) => line.startsWith(id))).toContain("\trevoked\t");
    } finally {
      await api.stop();
    }

    const unknown = await cli(["clients", "revoke", crypto.randomUUID()]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("No such client");
    const badName = await cli(["clients", "create", " padded"]);
    expect(badName.code).toBe(1);
    expect(badName.stderr).toContain("name must be");
    const noName = await cli(["clients", "create"]);
    expect(noName.code).toBe(2);
    expect(noName.stderr).toContain("wrong arguments: clients create");
  }, 60_000);

  test("help and --help print the usage and exit 0", async () => {
    for (const args of [["help"], ["--help"]]) {
      const shown = await cli(args);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toStartWith("Usage: ");
      expect(shown.stdout).toContain("replay [--verify]");
    }
  });

  test("usage errors exit 2 and say why", async () => {
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("Usage");
    const noPassword = await cli(["create-user", "carol"]);
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr).toContain("--password-stdin");
    const badRole = await cli(["create-user", "carol", "--role", "root", "--password-stdin"], {
      stdin: "carol password 1",
    });
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toContain("--role must be user or admin");
    const missingRole = await cli(["change-role", "carol"]);
    expect(missingRole.code).toBe(2);
    expect(missingRole.stderr).toContain("wrong arguments: change-role carol");
    const unknown = await cli(["frobnicate", "x"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown command");
    expect(unknown.stderr).toContain("Usage");
    // None of them did anything: carol was never created.
    expect((await cli(["events", "carol"])).stderr).toContain("No such user");
  }, 30_000);
});

describe("the admin CLI (embedded)", () => {
  const dir = mkdtempSync(join(tmpdir(), "authlog-cli-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cli = async (args: string[], env: Record<string, string> = {}) => {
    return runScript("src/adapters/cli/cli.ts", args, {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", DATA_DIR: dir, ...env },
    });
  };

  test("works on the data directory, and exits 3 while another process holds it", async () => {
    const created = await cli(["create-user", "dora", "--role", "admin"], {
      AUTHLOG_PASSWORD: "dora password 1",
    });
    expect(created.code).toBe(0);
    expect((await cli(["events", "dora"])).stdout).toContain("UserRegistered");

    const holder = openEmbeddedEventStore(join(dir, "events.sqlite"));
    try {
      const busy = await cli(["change-role", "dora", "user"]);
      expect(busy.code).toBe(3);
      expect(busy.stderr).toContain("in use by another process");
      expect(busy.stderr).toContain("stop the server first, or use the admin routes");
    } finally {
      holder.close();
    }
  }, 30_000);
});

describe("the admin CLI's keys commands (embedded, EdDSA)", () => {
  const dir = mkdtempSync(join(tmpdir(), "authlog-cli-keys-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const cli = (args: string[], env: Record<string, string> = { ALGORITHM: "EdDSA" }) =>
    runScript("src/adapters/cli/cli.ts", args, { env: { ...baseEnv(), DATA_DIR: dir, ...env } });

  test("the key-encryption key kept in DATA_DIR opens the ring from one run to the next", async () => {
    const first = await cli(["keys", "list"]);
    expect(first.code).toBe(0);
    expect(first.stdout.split("\n")[0]).toBe("algorithm EdDSA");
    const rotated = await cli(["keys", "rotate"]);
    expect(rotated.code).toBe(0);
    const states = rotated.stdout
      .trim()
      .split("\n")
      .slice(1)
      .map((line) => line.split("\t")[2]);
    expect(states).toEqual(["retired", "active", "next"]);
    expect((await cli(["keys", "rotate"], { ALGORITHM: "HS256" })).code).toBe(1);
  }, 30_000);
});

test("the README's CLI commands work through npm, flags included", async () => {
  const dir = mkdtempSync(join(tmpdir(), "authlog-npm-cli-"));
  try {
    const npm = async (args: string[], env: Record<string, string> = {}) => {
      const proc = Bun.spawn(["npm", "run", "--silent", "cli", "--", ...args], {
        cwd: `${import.meta.dir}/../..`,
        env: { ...baseEnv(), DATA_DIR: dir, ...env },
        stdout: "pipe",
        stderr: "pipe",
      });
      const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
      return { stdout, code };
    };
    const created = await npm(["create-user", "hank", "--role", "admin"], {
      AUTHLOG_PASSWORD: "hank password 1",
    });
    expect(created.code).toBe(0);
    expect(created.stdout).toStartWith("created admin hank");
    const events = await npm(["events", "hank", "--json"]);
    expect(events.code).toBe(0);
    expect(JSON.parse(events.stdout).map((e: { type: string }) => e.type)).toEqual([
      "UserRegistered",
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

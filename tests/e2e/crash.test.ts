import { afterAll, expect, test } from "bun:test";
import { baseEnv } from "../support/run.ts";
import { spawnApi, storageFor } from "../support/server.ts";

const password = "correct horse battery";
const root = `${import.meta.dir}/../..`;
const storage = storageFor("crash");
afterAll(() => storage.drop());

const post = (base: string, path: string, body?: unknown, token?: string) =>
  fetch(`${base}${path}`, {
    method: "POST",
    headers: {
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

test("kill -9 in a burst of logouts: every acknowledged logout holds after restart, and the projection matches the log", async () => {
  const first = await spawnApi(storage.env, { quiet: true });
  expect(
    (await post(first.base, "/auth/register", { username: "crash_user", password })).status,
  ).toBe(201);
  // A session nobody logs out: after the restart it must still work, so the 401s below come
  // from the logouts, not from an instance that refuses every token.
  const keptReply = await post(first.base, "/auth/login", { username: "crash_user", password });
  expect(keptReply.status).toBe(200);
  const kept = ((await keptReply.json()) as { access_token: string }).access_token;
  const tokens: string[] = [];
  for (let i = 0; i < 40; i++) {
    const reply = await post(first.base, "/auth/login", { username: "crash_user", password });
    tokens.push(((await reply.json()) as { access_token: string }).access_token);
  }
  const acknowledged: string[] = [];
  let answered = 0;
  const burst = tokens.map((token) =>
    post(first.base, "/auth/logout", undefined, token).then(
      (reply) => {
        answered++;
        if (reply.status === 204) acknowledged.push(token);
        if (answered === 10) first.proc.kill("SIGKILL");
      },
      () => {},
    ),
  );
  await Promise.all(burst);
  await first.proc.exited;
  expect(acknowledged.length).toBeGreaterThanOrEqual(10);
  expect(acknowledged.length).toBeLessThan(40);

  const second = await spawnApi(storage.env, { quiet: true });
  try {
    for (const token of acknowledged) {
      const reply = await fetch(`${second.base}/secure/data`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(reply.status).toBe(401);
    }
    const keptAfter = await fetch(`${second.base}/secure/data`, {
      headers: { authorization: `Bearer ${kept}` },
    });
    expect(keptAfter.status).toBe(200);
    const verify = Bun.spawn([process.execPath, "src/adapters/cli/cli.ts", "replay", "--verify"], {
      cwd: root,
      env: { ...baseEnv(), NODE_ENV: "production", ...storage.env },
      stdout: "pipe",
    });
    const out = await new Response(verify.stdout).text();
    expect(await verify.exited).toBe(0);
    expect(out).toContain("0 differences");
  } finally {
    await second.stop();
  }
});

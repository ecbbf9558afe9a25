import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnApi } from "../support/server.ts";

// Over real HTTP: Bun's server answers a body over its own limit by itself, before the app.
const dir = mkdtempSync(join(tmpdir(), "authlog-limits-"));
let api: Awaited<ReturnType<typeof spawnApi>>;
beforeAll(async () => {
  api = await spawnApi(
    { DATA_DIR: dir, JWT_SECRET: `${crypto.randomUUID()}${crypto.randomUUID()}` },
    { quiet: true },
  );
});
afterAll(async () => {
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
});

const expectProblem413 = async (response: Response) => {
  expect(response.status).toBe(413);
  expect(response.headers.get("content-type")).toStartWith("application/problem+json");
  expect(response.headers.get("x-content-type-options")).toBe("nosniff");
  expect(response.headers.get("x-request-id")).toBeTruthy();
  expect(await response.json()).toMatchObject({ status: 413, title: "Content Too Large" });
};

const login = (body: string | ReadableStream<Uint8Array>, headers: Record<string, string> = {}) =>
  fetch(`${api.base}/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
    // A stream body is sent chunked, without Content-Length.
    ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
  } as RequestInit);

test("a body over 64 KiB with its length declared is a 413 problem with the usual headers", async () => {
  const big = JSON.stringify({ username: "someone", password: "x".repeat(70_000) });
  await expectProblem413(await login(big));
});

test("a chunked body that grows past 64 KiB is a 413 problem too", async () => {
  const chunk = new Uint8Array(16 * 1024).fill(32);
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent++ < 8) controller.enqueue(chunk);
      else controller.close();
    },
  });
  await expectProblem413(await login(stream));
});

test("a body within the limit still reaches the route", async () => {
  const reply = await login(JSON.stringify({ username: "nobody_here", password: "x".repeat(50) }));
  expect(reply.status).toBe(401);
});

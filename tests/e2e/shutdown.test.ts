import { afterAll, describe, expect, test } from "bun:test";
import { spawnApi, storageFor } from "../support/server.ts";

const password = "correct horse battery";

/** Reads a gauge or counter (without labels) from the Prometheus text. */
const metric = async (base: string, name: string) => {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line?.split(" ")[1] ?? Number.NaN);
};

/**
 * A login sent over a raw socket in two parts: the server has the request (and counts it in
 * flight) but must wait for the rest of the body, which the test sends when it chooses.
 */
const halfSentLogin = async (port: number, username: string) => {
  const body = JSON.stringify({ username, password });
  const head = [
    "POST /auth/login HTTP/1.1",
    `Host: 127.0.0.1:${port}`,
    "Content-Type: application/json",
    `Content-Length: ${Buffer.byteLength(body)}`,
    "Connection: close",
    "",
    "",
  ].join("\r\n");
  let received = "";
  let closed: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    closed = resolve;
  });
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data: (_socket, chunk) => {
        received += chunk.toString();
      },
      close: () => closed(),
      error: () => closed(),
    },
  });
  const half = Math.floor(body.length / 2);
  socket.write(head + body.slice(0, half));
  return {
    finish: async () => {
      socket.write(body.slice(half));
      await done;
      return received;
    },
  };
};

describe("graceful shutdown", () => {
  const storage = storageFor("shutdown");
  afterAll(() => storage.drop());

  test("on SIGTERM a request in flight is answered 200, then the process exits 0", async () => {
    const api = await spawnApi({ ...storage.env, LOG_LEVEL: "info" }, { captureOutput: true });
    const register = await fetch(`${api.base}/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "draining_user", password }),
    });
    expect(register.status).toBe(201);

    const login = await halfSentLogin(api.port, "draining_user");
    // In flight: the login and the scrape that reads the gauge.
    const deadline = Date.now() + 10_000;
    while ((await metric(api.base, "http_requests_in_flight")) < 2) {
      if (Date.now() > deadline) throw new Error("the half-sent login never reached the server");
    }

    api.proc.kill("SIGTERM");
    const answer = await login.finish();
    expect(answer).toStartWith("HTTP/1.1 200");
    expect(answer).toContain('"access_token"');
    expect(await api.proc.exited).toBe(0);

    const lines = (await api.output())
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const messages = lines.map((line) => line.message);
    expect(messages.indexOf("shutting down")).toBeLessThan(messages.indexOf("stopped"));
    const loginLine = lines.find((line) => line.route === "/auth/login");
    expect(loginLine).toMatchObject({ level: "info", method: "POST", status: 200 });
    // The request finished after the signal and before the pools closed.
    expect(lines.indexOf(loginLine ?? {})).toBeGreaterThan(messages.indexOf("shutting down"));
    expect(lines.indexOf(loginLine ?? {})).toBeLessThan(messages.indexOf("stopped"));
  });

  test("LOG_LEVEL=warn keeps request lines out of the log", async () => {
    const api = await spawnApi({ ...storage.env, LOG_LEVEL: "warn" }, { captureOutput: true });
    expect((await fetch(`${api.base}/health/live`)).status).toBe(200);
    expect(await api.stop()).toBe(0);
    const output = await api.output();
    // The log was captured and warnings pass (COOKIE_SECURE=false in production warns).
    expect(output).toContain('"level":"warn"');
    expect(output).toContain("COOKIE_SECURE");
    expect(output).not.toContain('"level":"info"');
    expect(output).not.toContain('"message":"request"');
  });
});

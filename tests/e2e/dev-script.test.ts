import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { accepts, eventually } from "../support/net.ts";
import { spawnApi } from "../support/server.ts";

const dir = mkdtempSync(join(tmpdir(), "authlog-dev-"));

/** `npm run dev` as a developer starts it, its output piped: not a terminal, so no colour. */
const dev = (env: Record<string, string>) =>
  spawnApi(
    {
      NODE_ENV: "development",
      LOG_LEVEL: "info",
      DATA_DIR: join(dir, crypto.randomUUID()),
      JWT_SECRET: `${crypto.randomUUID()}${crypto.randomUUID()}`,
      ...env,
    },
    { command: ["npm", "run", "--silent", "dev"], captureOutput: true },
  );

describe("npm run dev", () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("logs one readable line per entry, and SIGTERM to npm stops the watched server", async () => {
    const api = await dev({});
    expect(await api.stop("SIGTERM")).toBe(0);
    expect(await eventually(async () => !(await accepts(api.port)), 5_000)).toBe(true);
    const lines = (await api.output()).split("\n").filter((line) => line !== "");
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  listening url=http://127\\.0\\.0\\.1:${api.port} `,
        ),
      ),
    );
    expect(lines).toContainEqual(expect.stringMatching(/ INFO {2}shutting down signal=SIGTERM$/));
    expect(lines.join("\n")).not.toContain("\x1b[");
    expect(lines.filter((line) => line.startsWith("{"))).toEqual([]);
  });

  test("LOG_FORMAT=json from the environment wins, and SIGINT (ctrl-C) stops it too", async () => {
    const api = await dev({ LOG_FORMAT: "json" });
    api.proc.kill("SIGINT");
    expect(await api.proc.exited).toBe(0);
    expect(await eventually(async () => !(await accepts(api.port)), 5_000)).toBe(true);
    const entries = (await api.output())
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { message: string; signal?: string });
    expect(entries.map((entry) => entry.message)).toEqual(
      expect.arrayContaining(["listening", "shutting down"]),
    );
    expect(entries.find((entry) => entry.message === "shutting down")?.signal).toBe("SIGINT");
  });
});

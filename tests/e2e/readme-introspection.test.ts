import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readmeBlocks, substitute } from "../support/readme.ts";
import { baseEnv } from "../support/run.ts";
import { spawnApi } from "../support/server.ts";

describe("the README's introspection and revocation commands", () => {
  const dir = mkdtempSync(join(tmpdir(), "authlog-readme-"));
  let api: Awaited<ReturnType<typeof spawnApi>>;

  beforeAll(async () => {
    // As the README starts it: embedded, with the admin it names.
    api = await spawnApi(
      {
        DATA_DIR: dir,
        JWT_SECRET: `${crypto.randomUUID()}${crypto.randomUUID()}`,
        ADMIN_USERNAME: "admin",
        ADMIN_PASSWORD: "admin password 1",
      },
      { quiet: true },
    );
  });
  afterAll(async () => {
    await api?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("run as written, they answer what the README says", async () => {
    const [block] = readmeBlocks("Putting other services behind it", "sh");
    if (block === undefined) throw new Error("README.md shows no commands in that section");
    const script = substitute(block, [["http://localhost:3000", api.base, 1]]);
    const proc = Bun.spawn(["bash", "-euo", "pipefail", "-c", script], {
      env: baseEnv(),
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    expect(err).toBe("");
    expect(code).toBe(0);
    const [live, revoked, after] = out.trim().split("\n");
    expect(JSON.parse(live ?? "")).toMatchObject({
      active: true,
      token_type: "access_token",
      username: "carol",
      role: "user",
    });
    expect(revoked).toBe("200");
    expect(JSON.parse(after ?? "")).toEqual({ active: false });
  });
});

import { describe, expect, test } from "bun:test";
import { availableParallelism } from "node:os";
import { type Env, loadConfig } from "../../src/adapters/config/Config.ts";

const load = (env: Env) => loadConfig({ NODE_ENV: "test", ...env });

describe("heavy-task pool settings", () => {
  test("default to one worker per core and a queue of 64", () => {
    const loaded = load({});
    expect(loaded.ok && loaded.config.heavyTaskWorkers).toBe(availableParallelism());
    expect(loaded.ok && loaded.config.heavyTaskQueue).toBe(64);
  });

  test("HEAVY_TASK_WORKERS and HEAVY_TASK_QUEUE are read; a queue of 0 is allowed", () => {
    const loaded = load({ HEAVY_TASK_WORKERS: "3", HEAVY_TASK_QUEUE: "0" });
    expect(loaded.ok && [loaded.config.heavyTaskWorkers, loaded.config.heavyTaskQueue]).toEqual([
      3, 0,
    ]);
  });

  test.each([
    ["HEAVY_TASK_WORKERS", "0"],
    ["HEAVY_TASK_WORKERS", "two"],
    ["HEAVY_TASK_QUEUE", "-1"],
  ])("%s=%s is refused with a message naming it", (variable, value) => {
    const loaded = load({ [variable]: value });
    expect(loaded.ok).toBe(false);
    if (!loaded.ok) expect(loaded.errors.map((e) => e.variable)).toEqual([variable]);
  });
});

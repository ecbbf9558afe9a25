import { expect, test } from "bun:test";
import { jsonLogger } from "../../src/adapters/logging/jsonLogger.ts";

const recorder = () => {
  const writes: string[] = [];
  return { writes, write: (text: string) => void writes.push(text) };
};

test("the lines of one event-loop turn are written together once it ends", async () => {
  const out = recorder();
  const log = jsonLogger("info", out.write);
  for (let i = 0; i < 3; i++) log("info", "request", { i });
  expect(out.writes).toEqual([]);
  await new Promise((resolve) => setImmediate(resolve));
  expect(out.writes).toHaveLength(1);
  const lines = (out.writes[0] ?? "").split("\n").map((line) => JSON.parse(line));
  expect(lines.map((line) => [line.level, line.message, line.i])).toEqual([
    ["info", "request", 0],
    ["info", "request", 1],
    ["info", "request", 2],
  ]);
  expect(Date.parse(lines[0].time)).toBeGreaterThan(0);
});

test("a warning is written at once, after the lines before it; levels below the minimum are dropped", () => {
  const out = recorder();
  const log = jsonLogger("info", out.write);
  log("info", "first");
  log("warn", "second");
  expect(out.writes).toHaveLength(1);
  expect((out.writes[0] ?? "").split("\n").map((l) => JSON.parse(l).message)).toEqual([
    "first",
    "second",
  ]);
  const quiet = recorder();
  jsonLogger("warn", quiet.write)("info", "dropped");
  expect(quiet.writes).toEqual([]);
});

test("a line without fields, or with none, is still one JSON object", () => {
  const out = recorder();
  const log = jsonLogger("info", out.write);
  log("warn", "bare");
  log("warn", "empty", {});
  log("warn", 'quoted "message"', { nested: { a: [1, "x"] } });
  expect(out.writes.map((line) => JSON.parse(line))).toMatchObject([
    { level: "warn", message: "bare" },
    { level: "warn", message: "empty" },
    { level: "warn", message: 'quoted "message"', nested: { a: [1, "x"] } },
  ]);
});

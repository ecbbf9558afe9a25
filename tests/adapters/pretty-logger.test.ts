import { expect, test } from "bun:test";
import { prettyLogger, wantsColour } from "../../src/adapters/logging/prettyLogger.ts";

const at = new Date(2026, 11, 1, 9, 5, 7, 42);

const recorder = (colour = false) => {
  const lines: string[] = [];
  const log = prettyLogger("info", { write: (line) => lines.push(line), colour, now: () => at });
  return { lines, log };
};

test("one line per entry: local time, level, message, then key=value fields", () => {
  const { lines, log } = recorder();
  log("info", "listening", { url: "http://127.0.0.1:3000", mode: "embedded", workers: 2 });
  log("warn", "JWT_SECRET is not set");
  log("error", "request failed", { status: 500, ok: false, missing: null });
  expect(lines).toEqual([
    "09:05:07.042 INFO  listening url=http://127.0.0.1:3000 mode=embedded workers=2",
    "09:05:07.042 WARN  JWT_SECRET is not set",
    "09:05:07.042 ERROR request failed status=500 ok=false missing=null",
  ]);
});

test("a value with spaces, quotes, = or newlines is quoted, and nested values are JSON, on one line", () => {
  const { lines, log } = recorder();
  log("error", "unexpected failure\nsecond line", {
    cause: 'Error: boom\n    at "x"',
    empty: "",
    query: "a=b",
    nested: { errors: [{ field: "n" }] },
  });
  expect(lines).toHaveLength(1);
  expect(lines[0]).toBe(
    '09:05:07.042 ERROR unexpected failure second line cause="Error: boom\\n    at \\"x\\"" empty="" query="a=b" nested={"errors":[{"field":"n"}]}',
  );
});

test("levels below the minimum are dropped", () => {
  const lines: string[] = [];
  const log = prettyLogger("warn", { write: (line) => lines.push(line), colour: false });
  log("info", "dropped");
  log("warn", "kept");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toEndWith("WARN  kept");
});

test("colour only on a terminal, and never when NO_COLOR is set", () => {
  expect(wantsColour({ isTTY: true }, {})).toBe(true);
  expect(wantsColour({ isTTY: true }, { NO_COLOR: "1" })).toBe(false);
  expect(wantsColour({ isTTY: true }, { NO_COLOR: "" })).toBe(true);
  expect(wantsColour({ isTTY: false }, {})).toBe(false);
  expect(wantsColour({}, {})).toBe(false);

  const plain = recorder(false);
  plain.log("warn", "careful", { a: 1 });
  expect(plain.lines[0]).not.toContain("\x1b[");
  const coloured = recorder(true);
  coloured.log("warn", "careful", { a: 1 });
  expect(coloured.lines[0]).toContain("\x1b[33mWARN ");
  expect(Bun.stripANSI(coloured.lines[0] ?? "")).toBe(plain.lines[0] ?? "");
});

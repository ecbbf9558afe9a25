import { expect, test } from "bun:test";
import { progress } from "../../src/adapters/cli/progress.ts";

const terminal = (columns: number) => {
  const writes: string[] = [];
  const out = { isTTY: true, columns, write: (text: string) => writes.push(text) > 0 };
  return { out: out as unknown as NodeJS.WriteStream, writes };
};

test("on an 80-column terminal each redraw clears the line and fits in it", () => {
  const { out, writes } = terminal(80);
  const bar = progress(out, 1_000_000);
  for (let i = 0; i < 50; i++) bar.advance("revocations", 10_000, 10_000);
  for (let i = 0; i < 50; i++) bar.advance("epochs", 10_000, 9_999);
  for (const write of writes) {
    expect(write.startsWith("\r\x1b[2K")).toBe(true);
    expect(write.length - "\r\x1b[2K".length).toBeLessThan(80);
  }
});

test("the bar moves with the events read, within a pass too", () => {
  const { out, writes } = terminal(120);
  const bar = progress(out, 1_000);
  bar.advance("revocations", 100, 100);
  bar.advance("revocations", 400, 400);
  const filled = (text: string | undefined) => (text?.match(/#/g) ?? []).length;
  expect(filled(writes[1])).toBeGreaterThan(filled(writes[0]));
  expect(writes[1]).toContain("500 read");
});

test("a pipe gets a line per pass and the summary, no control characters", () => {
  const writes: string[] = [];
  const out = { isTTY: false, write: (text: string) => writes.push(text) > 0 };
  const bar = progress(out as unknown as NodeJS.WriteStream, 100);
  bar.advance("revocations", 5, 5);
  bar.advance("epochs", 5, 5);
  bar.done();
  expect(writes.slice(0, 2)).toEqual(["revocations...\n", "epochs...\n"]);
  expect(writes.at(-1)).toContain("revocations 5, epochs 5, since 0 events read, 10 keys written");
  expect(writes.join("")).not.toContain("\x1b");
});

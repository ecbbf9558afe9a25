import type { RebuildPhase } from "../../application/Projector.ts";

const phases: readonly RebuildPhase[] = ["revocations", "epochs", "since"];

/**
 * A bar redrawn on a terminal, plain lines on a pipe. The bar moves with the events read against
 * the log's size (`expected`): passes skip what cannot matter, so it may end short of full.
 * Each redraw clears the line and fits the terminal's width.
 */
export const progress = (out: NodeJS.WriteStream = process.stdout, expected = 0) => {
  const started = performance.now();
  const read: Record<RebuildPhase, number> = { revocations: 0, epochs: 0, since: 0 };
  let keys = 0;
  let current = -1;
  const total = () => read.revocations + read.epochs + read.since;
  const line = () => {
    const seconds = (performance.now() - started) / 1000;
    const counts = phases.map((phase) => `${phase} ${read[phase]}`).join(", ");
    return `${counts} events read, ${keys} keys written, ${Math.round(total() / Math.max(seconds, 1e-9))}/s`;
  };
  const draw = () => {
    if (!out.isTTY) return;
    const width = Math.max(20, (out.columns ?? 80) - 1);
    const phase = phases[Math.min(Math.max(current, 0), phases.length - 1)] ?? "since";
    const status = `${phase} ${total()} read, ${keys} written`;
    const barWidth = Math.max(5, Math.min(30, width - status.length - 3));
    const done = expected > 0 ? Math.min(1, total() / expected) : current / phases.length;
    const filled = Math.round(Math.max(0, done) * barWidth);
    const text = `[${"#".repeat(filled)}${"-".repeat(barWidth - filled)}] ${status}`;
    out.write(`\r\x1b[2K${text.slice(0, width)}`);
  };
  return {
    advance: (phase: RebuildPhase, events: number, written: number) => {
      read[phase] += events;
      keys += written;
      const index = phases.indexOf(phase);
      if (index > current) {
        current = index;
        if (!out.isTTY) out.write(`${phase}...\n`);
      }
      draw();
    },
    done: () => {
      current = phases.length;
      if (out.isTTY) {
        draw();
        out.write("\n");
      }
      out.write(`${line()}\n`);
    },
  };
};

/** A bar of `done` against `expected` with a rate; on a pipe, one line at the end. */
export const counter = (out: NodeJS.WriteStream, expected: number, noun: string) => {
  const started = performance.now();
  let done = 0;
  const status = () => {
    const seconds = (performance.now() - started) / 1000;
    return `${done} of ${expected} ${noun}, ${Math.round(done / Math.max(seconds, 1e-9))}/s`;
  };
  const draw = () => {
    if (!out.isTTY) return;
    const width = Math.max(20, (out.columns ?? 80) - 1);
    const text = status();
    const barWidth = Math.max(5, Math.min(30, width - text.length - 3));
    const filled = Math.round((expected > 0 ? Math.min(1, done / expected) : 1) * barWidth);
    out.write(
      `\r\x1b[2K${`[${"#".repeat(filled)}${"-".repeat(barWidth - filled)}] ${text}`.slice(0, width)}`,
    );
  };
  let drawn = 0;
  return {
    advance: (count: number) => {
      done += count;
      const now = performance.now();
      if (now - drawn > 100) {
        drawn = now;
        draw();
      }
    },
    done: () => {
      if (out.isTTY) {
        draw();
        out.write("\n");
      } else out.write(`${status()}\n`);
    },
  };
};

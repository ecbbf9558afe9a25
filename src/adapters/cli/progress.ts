import type { RebuildPhase } from "../../application/Projector.ts";

const phases: readonly RebuildPhase[] = ["revocations", "epochs", "since"];

/** A bar redrawn on a terminal, plain lines on a pipe; a pass's size is not known ahead. */
export const progress = (out: NodeJS.WriteStream = process.stdout) => {
  const started = performance.now();
  const read: Record<RebuildPhase, number> = { revocations: 0, epochs: 0, since: 0 };
  let keys = 0;
  let current = -1;
  const line = () => {
    const total = read.revocations + read.epochs + read.since;
    const seconds = (performance.now() - started) / 1000;
    const counts = phases.map((phase) => `${phase} ${read[phase]}`).join(", ");
    return `${counts} events read, ${keys} keys written, ${Math.round(total / Math.max(seconds, 1e-9))}/s`;
  };
  const draw = () => {
    if (out.isTTY) {
      const filled = Math.max(0, current) * 10;
      out.write(`\r[${"#".repeat(filled)}${"-".repeat(30 - filled)}] ${line()}`);
    }
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
      } else out.write(`${line()}\n`);
    },
  };
};

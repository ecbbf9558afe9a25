/**
 * A progress bar on a terminal; plain lines (one every 10 %) when the output is a pipe or file.
 */
export const progress = (total: number, out: NodeJS.WriteStream = process.stdout) => {
  const started = performance.now();
  let done = 0;
  let lastTenth = -1;
  const line = () => {
    const ratio = total === 0 ? 1 : Math.min(1, done / total);
    const seconds = (performance.now() - started) / 1000;
    const rate = Math.round(done / Math.max(seconds, 1e-9));
    return { ratio, text: `${Math.round(ratio * 100)}% ${done}/${total} events ${rate}/s` };
  };
  return {
    advance: (events: number) => {
      done += events;
      const { ratio, text } = line();
      if (out.isTTY) {
        const width = 30;
        const filled = Math.round(ratio * width);
        out.write(`\r[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${text}`);
      } else if (Math.floor(ratio * 10) > lastTenth) {
        lastTenth = Math.floor(ratio * 10);
        out.write(`${text}\n`);
      }
    },
    done: () => {
      if (out.isTTY) out.write("\n");
    },
  };
};

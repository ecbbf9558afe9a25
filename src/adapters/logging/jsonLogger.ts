export type LogLevel = "debug" | "info" | "warn" | "error";

export type Logger = (level: Exclude<LogLevel, "debug">, message: string, fields?: object) => void;

export const levels = { debug: 10, info: 20, warn: 30, error: 40 } as const;

/**
 * One JSON object per line on stdout, below `minimum` dropped. Lines of one event-loop turn are
 * written together once it ends, so a busy server makes one write per turn, not per request;
 * a warning or an error is written at once, with whatever came before it.
 */
export const jsonLogger = (minimum: LogLevel, write = (text: string) => console.log(text)) => {
  let pending: string[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const text = pending.join("\n");
    pending = [];
    write(text);
  };
  process.on("exit", flush);
  // One timestamp string per millisecond, however many lines share it.
  let stampedAt = 0;
  let stamp = "";
  const log: Logger = (level, message, fields) => {
    if (levels[level] < levels[minimum]) return;
    const now = Date.now();
    if (now !== stampedAt) {
      stampedAt = now;
      stamp = new Date(now).toISOString();
    }
    // Built around one stringify of the fields: no merged object per line. Later keys win on
    // parse, so a field named like a fixed one overrides it, as a spread would.
    const rest = fields === undefined ? "{}" : JSON.stringify(fields);
    const line = `{"time":"${stamp}","level":"${level}","message":${JSON.stringify(message)}${rest === "{}" ? "}" : `,${rest.slice(1)}`}`;
    if (pending.push(line) === 1 && level === "info") setImmediate(flush);
    if (level !== "info") flush();
  };
  return log;
};

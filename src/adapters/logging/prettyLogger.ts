import { type Logger, type LogLevel, levels } from "./jsonLogger.ts";

export type PrettyOptions = {
  readonly write?: (text: string) => void;
  readonly colour?: boolean;
  readonly now?: () => Date;
};

/** https://no-color.org: any non-empty NO_COLOR turns colour off, and so does a pipe or file. */
export const wantsColour = (
  stream: { readonly isTTY?: boolean } = process.stdout,
  env: Readonly<Record<string, string | undefined>> = process.env,
) => stream.isTTY === true && (env.NO_COLOR ?? "") === "";

const paint: Record<Exclude<LogLevel, "debug">, string> = {
  info: "\x1b[32m",
  warn: "\x1b[33m",
  error: "\x1b[31m",
};
const dim = "\x1b[2m";
const reset = "\x1b[0m";

const pad = (value: number, width = 2) => String(value).padStart(width, "0");

const clock = (date: Date) =>
  `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;

// Bare when it reads unambiguously; quoted (JSON) when it has a space, quote, = or newline.
const show = (value: unknown): string => {
  if (typeof value === "string") {
    return value !== "" && !/[\s"=\\]/.test(value) ? value : JSON.stringify(value);
  }
  if (value === undefined) return "undefined";
  if (typeof value === "bigint") return String(value);
  return JSON.stringify(value) ?? String(value);
};

/**
 * One line per entry for a person at a terminal: local time, level, message, then key=value
 * fields. Written at once: a developer's server is not busy enough to need batching.
 */
export const prettyLogger = (minimum: LogLevel, options: PrettyOptions = {}): Logger => {
  const write = options.write ?? ((text: string) => console.log(text));
  const colour = options.colour ?? wantsColour();
  const now = options.now ?? (() => new Date());
  return (level, message, fields) => {
    if (levels[level] < levels[minimum]) return;
    const name = level.toUpperCase().padEnd(5);
    const pairs = Object.entries(fields ?? {}).map(([key, value]) =>
      colour ? `${dim}${key}=${reset}${show(value)}` : `${key}=${show(value)}`,
    );
    const head = colour
      ? `${dim}${clock(now())}${reset} ${paint[level]}${name}${reset}`
      : `${clock(now())} ${name}`;
    write([head, message.replaceAll("\n", " "), ...pairs].join(" "));
  };
};

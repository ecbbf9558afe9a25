export type LogLevel = "debug" | "info" | "warn" | "error";

export type Logger = (level: Exclude<LogLevel, "debug">, message: string, fields?: object) => void;

const levels = { debug: 10, info: 20, warn: 30, error: 40 } as const;

export const jsonLogger =
  (minimum: LogLevel): Logger =>
  (level, message, fields) => {
    if (levels[level] < levels[minimum]) return;
    console.log(JSON.stringify({ time: new Date().toISOString(), level, message, ...fields }));
  };

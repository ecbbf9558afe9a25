export { startServer } from "../tests/support/server.ts";

export type WrkResult = {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
};

const units: Record<string, number> = { us: 0.001, ms: 1, s: 1000 };
const ms = (value: string, unit: string) => Number(value) * (units[unit] ?? Number.NaN);

/** Runs wrk with latency stats; `script` is Lua source, written to a temporary file. */
export const wrk = async (
  url: string,
  options: { connections?: number; seconds?: number; script?: string } = {},
): Promise<WrkResult> => {
  const args = [
    "wrk",
    "-t1",
    `-c${options.connections ?? 64}`,
    `-d${options.seconds ?? 10}s`,
    "--latency",
  ];
  if (options.script) {
    const file = `${process.env.TMPDIR ?? "/tmp"}/bench-${crypto.randomUUID()}.lua`;
    await Bun.write(file, options.script);
    args.push("-s", file);
  }
  const out = await new Response(Bun.spawn([...args, url], { stdout: "pipe" }).stdout).text();
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const latency = (p: string) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return m?.[1] && m[2] ? ms(m[1], m[2]) : Number.NaN;
  };
  const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  if (!Number.isFinite(rps)) throw new Error(`wrk failed:\n${out}`);
  return { rps, p50: latency("50"), p99: latency("99"), errors };
};

export const requireWrk = () => {
  if (!Bun.which("wrk")) {
    console.error("This benchmark needs wrk (Debian: apt-get install wrk).");
    process.exit(2);
  }
};

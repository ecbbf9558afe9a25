import { createSql, quoteIdentifier } from "../src/adapters/postgres/client.ts";
import { createRedis } from "../src/adapters/redis/client.ts";

export const databaseUrl =
  process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** Starts the API as its own process on a fresh schema and key prefix; `stop` cleans up. */
export const startServer = async (name: string, env: Record<string, string> = {}) => {
  const schema = `bench_${name}_${crypto.randomUUID().slice(0, 8)}`;
  const prefix = `bench:${schema}:`;
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const proc = Bun.spawn([process.execPath, "src/main.ts"], {
    cwd: `${import.meta.dir}/..`,
    env: {
      ...process.env,
      NODE_ENV: "production",
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: databaseUrl,
      DATABASE_SCHEMA: schema,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: prefix,
      JWT_SECRET: crypto.randomUUID() + crypto.randomUUID(),
      COOKIE_SECURE: "false",
      LOG_LEVEL: "error",
      REGISTER_RATE_LIMIT: "0",
      LOGIN_MAX_FAILURES_PER_IP: "1000000",
      ...env,
    },
    stdout: "inherit",
    stderr: "inherit",
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await fetch(`${base}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline || proc.exitCode !== null)
      throw new Error("the API did not become ready");
    await Bun.sleep(100);
  }
  const stop = async () => {
    proc.kill("SIGTERM");
    await proc.exited;
    const sql = createSql({ url: databaseUrl, max: 1 });
    await sql.unsafe(`drop schema if exists ${quoteIdentifier(schema)} cascade`);
    await sql.end();
    const redis = createRedis({ url: redisUrl, commandTimeoutMs: 5000 });
    await redis.connect();
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      if (keys.length > 0) await redis.del(keys);
    }
    redis.destroy();
  };
  return { base, port, pid: proc.pid, stop };
};

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

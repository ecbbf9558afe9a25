import { freePort } from "../tests/support/net.ts";
import { spawnApi, storageFor } from "../tests/support/server.ts";

export { startServer } from "../tests/support/server.ts";

export type WrkResult = {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  /** Requests answered in the run. */
  readonly requests: number;
};

const units: Record<string, number> = { us: 0.001, ms: 1, s: 1000 };
const ms = (value: string, unit: string) => Number(value) * (units[unit] ?? Number.NaN);

/** Runs wrk with latency stats; `script` is Lua source, written to a temporary file. */
export const wrk = async (
  url: string,
  options: { connections?: number; seconds?: number; script?: string; threads?: number } = {},
): Promise<WrkResult> => {
  const args = [
    "wrk",
    `-t${options.threads ?? 1}`,
    `-c${options.connections ?? 64}`,
    `-d${options.seconds ?? 10}s`,
    "--latency",
  ];
  const file = options.script
    ? `${process.env.TMPDIR ?? "/tmp"}/bench-${crypto.randomUUID()}.lua`
    : undefined;
  if (file) {
    await Bun.write(file, options.script ?? "");
    args.push("-s", file);
  }
  let out: string;
  try {
    out = await new Response(Bun.spawn([...args, url], { stdout: "pipe" }).stdout).text();
  } finally {
    if (file) await Bun.file(file).delete();
  }
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const latency = (p: string) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return m?.[1] && m[2] ? ms(m[1], m[2]) : Number.NaN;
  };
  const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  if (!Number.isFinite(rps)) throw new Error(`wrk failed:\n${out}`);
  return { rps, p50: latency("50"), p99: latency("99"), errors, requests };
};

export const requireWrk = () => {
  if (!Bun.which("wrk")) {
    console.error("This benchmark needs wrk (Debian: apt-get install wrk).");
    process.exit(2);
  }
};

/**
 * A wrk script that sends GET with `Authorization: Bearer <token>`, the tokens in turn, each
 * thread from its own offset. The requests are formatted once, in `init`, so that wrk (which
 * shares the cores with the server) spends as little as it can per request.
 */
export const rotatingTokens = (tokens: readonly string[]) => `local tokens = {${tokens
  .map((t) => `"${t}"`)
  .join(",")}}
local threads = 0
function setup(thread)
  thread:set("offset", threads * 499)
  threads = threads + 1
end
function init(args)
  requests = {}
  for n, token in ipairs(tokens) do
    requests[n] = wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. token })
  end
  i = offset or 0
end
function request()
  i = i + 1
  return requests[(i % #requests) + 1]
end`;

const ticksPerSecond = 100; // USER_HZ, 100 on Linux

/**
 * CPU seconds a process has used so far, all its threads, user and system (Linux: from
 * /proc/<pid>/stat); NaN elsewhere. Per request it is a measure that other load on a shared
 * machine disturbs far less than req/s.
 */
export const cpuSeconds = async (pid: number) => {
  try {
    const stat = await Bun.file(`/proc/${pid}/stat`).text();
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return Number.NaN;
  }
};

const waitUntil = async (check: () => Promise<boolean>, what: string, ms = 30_000) => {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} did not become ready`);
    await Bun.sleep(50);
  }
};

/** The bare Elysia app of bench/bare.ts, in its own process, on a free port. */
export const startBare = async () => {
  const port = freePort();
  const proc = Bun.spawn([process.execPath, `${import.meta.dir}/bare.ts`], {
    env: { ...process.env, NODE_ENV: "production", PORT: String(port) },
    stdout: "ignore",
    stderr: "inherit",
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitUntil(async () => (await fetch(`${base}/secure/data`)).ok, "the bare app", 10_000);
  } catch (error) {
    proc.kill("SIGKILL");
    throw error;
  }
  const stop = async () => {
    proc.kill();
    await proc.exited;
  };
  return { base, proc, stop };
};

/**
 * The API as its own process, on a fresh schema and key prefix, with the default configuration
 * for logs and metrics (LOG_LEVEL=info: one access-log line a request, to /dev/null; metrics
 * on) unless `env` says otherwise. `stop` also drops the schema and the Redis keys.
 */
export const startDefaultServer = async (
  name: string,
  env: Record<string, string> = {},
  options: {
    /** Runs on the fresh storage before the API starts, e.g. to write a log into it. */
    readonly prepare?: (storage: ReturnType<typeof storageFor>) => Promise<void>;
    readonly readyWithinMs?: number;
  } = {},
) => {
  const storage = storageFor(name);
  let api: Awaited<ReturnType<typeof spawnApi>>;
  try {
    await options.prepare?.(storage);
    api = await spawnApi(
      { LOG_LEVEL: "info", ...storage.env, ...env },
      { quiet: true, ...(options.readyWithinMs ? { readyWithinMs: options.readyWithinMs } : {}) },
    );
  } catch (error) {
    await storage.drop();
    throw error;
  }
  const stop = async () => {
    try {
      await api.stop();
    } finally {
      await storage.drop();
    }
  };
  return { ...api, schema: storage.schema, prefix: storage.prefix, env: storage.env, stop };
};

/** Registers `count` users `${prefix}${i}` and logs each in once; their access tokens. */
export const accessTokens = async (
  base: string,
  options: { prefix: string; count: number; password: string; inFlight?: number },
) => {
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return response;
  };
  const tokens: string[] = new Array(options.count);
  let next = 0;
  await Promise.all(
    Array.from({ length: options.inFlight ?? 8 }, async () => {
      while (next < options.count) {
        const i = next++;
        const username = `${options.prefix}${i}`;
        await post("/auth/register", { username, password: options.password });
        const login = await post("/auth/login", { username, password: options.password });
        tokens[i] = ((await login.json()) as { access_token: string }).access_token;
      }
    }),
  );
  return tokens;
};

export const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

/** The line above a bench's table: when, which commit and Bun, `what` ran, the load average. */
export const runLine = async (what: string) => {
  const commit = (
    await new Response(Bun.spawn(["git", "rev-parse", "--short", "HEAD"]).stdout).text()
  ).trim();
  const load = (await Bun.file("/proc/loadavg").text()).split(" ")[0];
  const at = new Date().toISOString().slice(0, 16).replace("T", " ");
  return `\n${at} UTC, commit ${commit}, Bun ${Bun.version}, ${what}, load average ${load}\n`;
};

/** Runs the modes `BENCH_MODE` names (every one when unset), one after another. */
export const eachMode = async <A>(modes: readonly (readonly [string, () => Promise<A>])[]) => {
  const only = process.env.BENCH_MODE;
  const results: [string, A][] = [];
  for (const [mode, run] of modes) {
    if (only && !mode.toLowerCase().includes(only)) continue;
    const started = performance.now();
    results.push([mode, await run()]);
    console.log(`${mode}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  return results;
};

import {
  accessTokens,
  cpuSeconds,
  median,
  requireWrk,
  rotatingTokens,
  startBare,
  startDefaultServer,
  type WrkResult,
  wrk,
} from "./server.ts";

/**
 * The protected route against the ceiling of any route on Bun + Elysia (SPEC section 14): a
 * bare Elysia app in its own process (bench/bare.ts) answering the same small JSON, the forward
 * auth route GET /auth/verify (the same check, answered as headers), and the project's
 * GET /health/live, which pays the request wrapper but no check. The API runs as its
 * own process with the default configuration (access log at info, to /dev/null; metrics on).
 * The targets take turns, round after round, all with the same wrk settings and the same
 * Lua script rotating the Authorization header over the tokens of distinct users (the bare app
 * and /health/live ignore it); the medians over the rounds are reported. The machine is shared,
 * so each run also records the CPU time the target's process used per request answered (Linux),
 * which other load disturbs far less than req/s. BENCH_ALGORITHMS=HS256,ES256,EdDSA measures an
 * API process per signing algorithm, in the same rounds.
 */
requireWrk();
const users = Number(process.env.BENCH_USERS ?? 1000);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
/** Which signing algorithms to measure, each in an API process of its own: HS256, ES256, EdDSA. */
const algorithms = (process.env.BENCH_ALGORITHMS ?? "HS256").split(",").map((a) => a.trim());
const known = ["HS256", "ES256", "EdDSA"];
if (algorithms.some((a) => !known.includes(a))) {
  console.error(`BENCH_ALGORITHMS takes a comma-separated list of ${known.join(", ")}`);
  process.exit(2);
}
const threads = 2;
const connections = 64;

const bare = await startBare();
const servers: Awaited<ReturnType<typeof startDefaultServer>>[] = [];
const stopAll = async () => {
  await Promise.allSettled([bare.stop(), ...servers.map((server) => server.stop())]);
};
process.once("SIGINT", () => {
  stopAll().finally(() => process.exit(130));
});
try {
  for (const algorithm of algorithms) {
    servers.push(
      await startDefaultServer(`hotpath_${algorithm.toLowerCase()}`, {
        // The lowest cost the configuration accepts: registering the users is argon2id's time.
        PASSWORD_HASH_MEMORY_KIB: "19456",
        PASSWORD_HASH_TIME_COST: "2",
        // Long enough for many rounds after registering the users; the hot path does not read it.
        ACCESS_TOKEN_EXPIRE_MINUTES: "60",
        ALGORITHM: algorithm,
        KEY_ENCRYPTION_KEY: `${crypto.randomUUID()}${crypto.randomUUID()}`,
      }),
    );
  }
  const setupStarted = performance.now();
  const tokenSets = await Promise.all(
    servers.map((server) =>
      accessTokens(server.base, { prefix: "bench_", count: users, password: "benchmark password" }),
    ),
  );
  const setupSeconds = (performance.now() - setupStarted) / 1000;

  // Same shape: the keys of both answers, nested, must agree.
  const shape = (value: unknown): unknown =>
    value !== null && typeof value === "object"
      ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]))
      : typeof value;
  const bareBody = await (await fetch(`${bare.base}/secure/data`)).json();
  for (const [i, server] of servers.entries()) {
    const secured = await fetch(`${server.base}/secure/data`, {
      headers: { authorization: `Bearer ${tokenSets[i]?.[0]}` },
    });
    if (secured.status !== 200) throw new Error(`GET /secure/data: ${secured.status}`);
    if (JSON.stringify(shape(await secured.json())) !== JSON.stringify(shape(bareBody))) {
      throw new Error("the bare app's JSON does not have the shape of GET /secure/data's");
    }
  }

  const [first] = servers;
  if (!first) throw new Error("no algorithm to measure");
  const targets = [
    {
      name: "bare Elysia app, own process",
      kind: "bare",
      url: `${bare.base}/secure/data`,
      pid: bare.proc.pid,
      script: rotatingTokens(tokenSets[0] ?? []),
    },
    ...servers.flatMap((server, i) =>
      (["/secure/data", "/auth/verify"] as const).map((path) => ({
        name: algorithms.length === 1 ? `GET ${path}` : `GET ${path}, ${algorithms[i]}`,
        kind: path,
        algorithm: algorithms[i] ?? "",
        url: `${server.base}${path}`,
        pid: server.proc.pid,
        script: rotatingTokens(tokenSets[i] ?? []),
      })),
    ),
    {
      name: "GET /health/live",
      kind: "live",
      url: `${first.base}/health/live`,
      pid: first.proc.pid,
      script: rotatingTokens(tokenSets[0] ?? []),
    },
  ];
  type Run = WrkResult & { cpuUs: number };
  const run = async (target: (typeof targets)[number], s: number): Promise<Run> => {
    const before = await cpuSeconds(target.pid);
    const result = await wrk(target.url, {
      threads,
      connections,
      seconds: s,
      script: target.script,
    });
    const cpu = (await cpuSeconds(target.pid)) - before;
    return { ...result, cpuUs: (cpu * 1e6) / result.requests };
  };

  for (const target of targets) await run(target, 2); // warm-up
  const results: Run[][] = targets.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, target] of targets.entries()) results[i]?.push(await run(target, seconds));
  }

  type Summary = {
    rps: number;
    min: number;
    max: number;
    p50: number;
    p99: number;
    cpuUs: number;
    errors: number;
    rounds: Run[];
  };
  const summaries = results.map(
    (r): Summary => ({
      rps: median(r.map((x) => x.rps)),
      min: Math.min(...r.map((x) => x.rps)),
      max: Math.max(...r.map((x) => x.rps)),
      p50: median(r.map((x) => x.p50)),
      p99: median(r.map((x) => x.p99)),
      cpuUs: median(r.map((x) => x.cpuUs)),
      errors: r.reduce((sum, x) => sum + x.errors, 0),
      rounds: r,
    }),
  );
  const b = summaries[0] as Summary;
  const l = summaries.at(-1) as Summary;
  const checked = targets.flatMap((target, i) =>
    "algorithm" in target ? [{ target, summary: summaries[i] as Summary }] : [],
  );

  const n = (value: number) => value.toLocaleString("en-US", { maximumFractionDigits: 0 });
  const row = (name: string, r: Summary) =>
    `| ${name} | ${n(r.rps)} | ${n(r.min)} - ${n(r.max)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.cpuUs.toFixed(1)} | ${r.errors} |`;
  const perRound = (over: Summary) =>
    over.rounds.map((r, i) => (r.rps / (b.rounds[i]?.rps ?? Number.NaN)).toFixed(2)).join(", ");
  console.log(
    `\n${new Date().toISOString()}: wrk -t${threads} -c${connections}, ${seconds} s a round, ${rounds} rounds (bare, each checked route, live in turns), ${n(users)} distinct tokens of ${n(users)} users (setup ${setupSeconds.toFixed(0)} s)\n`,
  );
  console.log(
    "| target | req/s (median) | req/s (min - max) | p50 ms | p99 ms | server CPU us/request | non-2xx |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  for (const [i, target] of targets.entries()) {
    const summary = summaries[i];
    if (summary) console.log(row(target.name, summary));
  }
  for (const { target, summary: s } of checked) {
    const which = algorithms.length === 1 ? target.kind : `${target.kind} (${target.algorithm})`;
    const goal = target.algorithm === "HS256" ? "0.45x" : "0.4x";
    console.log(
      `\n${which} / bare: ${(s.rps / b.rps).toFixed(2)}x (per round: ${perRound(s)}; target >= ${goal})`,
    );
    console.log(
      `p99 ${which} / bare: ${(s.p99 / b.p99).toFixed(2)}x (${s.p99.toFixed(2)} vs ${b.p99.toFixed(2)} ms; target < 2x)`,
    );
    console.log(
      `server CPU per request, bare / ${which}: ${(b.cpuUs / s.cpuUs).toFixed(2)}x (${b.cpuUs.toFixed(1)} vs ${s.cpuUs.toFixed(1)} us)`,
    );
    if (s.errors > 0) console.log(`warning: ${which} answered non-2xx: the ratio is not valid`);
  }
  console.log(
    `\nlive / bare: ${(l.rps / b.rps).toFixed(2)}x (per round: ${perRound(l)}); bare / live CPU per request: ${(b.cpuUs / l.cpuUs).toFixed(2)}x`,
  );
} finally {
  await stopAll();
}

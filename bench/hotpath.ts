import { requireWrk, startServer, type WrkResult, wrk } from "./server.ts";

/**
 * The protected route against a bare JSON route of the same server, and login throughput
 * against the bare password-verify rate at the same cost. Each pair is measured in turns,
 * several rounds in one run, and the median of each is reported: this machine is shared.
 */
requireWrk();
const users = 256;
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const password = "benchmark password";
const hashCost = { memoryCost: 19_456, timeCost: 2 };

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const medianBy = (results: WrkResult[]) => ({
  rps: median(results.map((r) => r.rps)),
  p50: median(results.map((r) => r.p50)),
  p99: median(results.map((r) => r.p99)),
  errors: results.reduce((sum, r) => sum + r.errors, 0),
});

/** argon2id verifies per second with `inFlight` at once, in this process, no HTTP. */
const verifyRate = async (inFlight: number) => {
  const hash = await Bun.password.hash(password, { algorithm: "argon2id", ...hashCost });
  let verifies = 0;
  const start = performance.now();
  const until = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < until) {
        await Bun.password.verify(password, hash);
        verifies++;
      }
    }),
  );
  return verifies / ((performance.now() - start) / 1000);
};

const server = await startServer("hotpath", {
  PASSWORD_HASH_MEMORY_KIB: String(hashCost.memoryCost),
  PASSWORD_HASH_TIME_COST: String(hashCost.timeCost),
  // 16 logins of one account in flight would otherwise fill its 10 brute-force slots.
  LOGIN_MAX_FAILURES_PER_USER: "1000000",
});
try {
  const post = (path: string, body: unknown) =>
    fetch(`${server.base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const tokens: string[] = [];
  for (let i = 0; i < users; i++) {
    const username = `bench_${i}`;
    await post("/auth/register", { username, password });
    const login = (await (await post("/auth/login", { username, password })).json()) as {
      access_token: string;
    };
    tokens.push(login.access_token);
  }

  const rotate = `local tokens = {${tokens.map((t) => `"${t}"`).join(",")}}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. tokens[(i % #tokens) + 1] })
end`;
  const login = `wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"bench_0","password":"${password}"}'`;

  await wrk(`${server.base}/health/live`, { seconds: 2 });
  const bare: WrkResult[] = [];
  const secured: WrkResult[] = [];
  const logins: WrkResult[] = [];
  const verifies: number[] = [];
  for (let round = 0; round < rounds; round++) {
    bare.push(await wrk(`${server.base}/health/live`, { seconds }));
    secured.push(await wrk(`${server.base}/secure/data`, { seconds, script: rotate }));
    verifies.push(await verifyRate(16));
    logins.push(
      await wrk(`${server.base}/auth/login`, { seconds, script: login, connections: 16 }),
    );
  }
  const b = medianBy(bare);
  const s = medianBy(secured);
  const l = medianBy(logins);
  const v = median(verifies);

  const row = (name: string, r: { rps: number; p50: number; p99: number; errors: number }) =>
    `| ${name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} |`;
  console.log(
    `\nwrk -t1, 64 connections (16 for login), ${seconds} s a run, median of ${rounds} rounds, ${users} distinct tokens\n`,
  );
  console.log("| route | req/s | p50 ms | p99 ms | non-2xx |");
  console.log("|---|---|---|---|---|");
  console.log(row("GET /health/live (bare)", b));
  console.log(row("GET /secure/data (protected)", s));
  console.log(row("POST /auth/login", l));
  console.log(`| argon2id verify, 16 in flight (no HTTP) | ${v.toFixed(0)} | | | |`);
  console.log(
    `\nprotected / bare: ${(s.rps / b.rps).toFixed(2)}x (per round: ${secured.map((r, i) => (r.rps / (bare[i]?.rps ?? 1)).toFixed(2)).join(", ")}; target >= 0.5x, p99 <= 5 ms)`,
  );
  console.log(
    `login / bare verify: ${(l.rps / v).toFixed(2)}x (per round: ${logins.map((r, i) => (r.rps / (verifies[i] ?? 1)).toFixed(2)).join(", ")}; target >= 0.9x)`,
  );
} finally {
  await server.stop();
}

import { median, requireWrk, startDefaultServer, type WrkResult, wrk } from "./server.ts";

/**
 * Login throughput against the bare password-verify rate at the same cost: POST /auth/login
 * with 16 connections, and argon2id verify done in this process with 16 in flight and no HTTP,
 * in turns, several rounds in one run; the medians are reported. The machine is shared.
 */
requireWrk();
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const password = "benchmark password";
const hashCost = { memoryCost: 19_456, timeCost: 2 };

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

const server = await startDefaultServer("login", {
  PASSWORD_HASH_MEMORY_KIB: String(hashCost.memoryCost),
  PASSWORD_HASH_TIME_COST: String(hashCost.timeCost),
  // 16 logins of one account in flight would otherwise fill its 10 brute-force slots.
  LOGIN_MAX_FAILURES_PER_USER: "1000000",
});
try {
  const register = await fetch(`${server.base}/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "bench_0", password }),
  });
  if (register.status !== 201) throw new Error(`register: ${register.status}`);
  const login = `wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"bench_0","password":"${password}"}'`;

  const logins: WrkResult[] = [];
  const verifies: number[] = [];
  for (let round = 0; round < rounds; round++) {
    verifies.push(await verifyRate(16));
    logins.push(
      await wrk(`${server.base}/auth/login`, { seconds, script: login, connections: 16 }),
    );
  }
  const l = medianBy(logins);
  const v = median(verifies);

  console.log(`\nwrk -t1 -c16, ${seconds} s a run, median of ${rounds} rounds\n`);
  console.log("| route | req/s | p50 ms | p99 ms | non-2xx |");
  console.log("|---|---|---|---|---|");
  console.log(
    `| POST /auth/login | ${l.rps.toFixed(0)} | ${l.p50.toFixed(2)} | ${l.p99.toFixed(2)} | ${l.errors} |`,
  );
  console.log(`| argon2id verify, 16 in flight (no HTTP) | ${v.toFixed(0)} | | | |`);
  console.log(
    `\nlogin / bare verify: ${(l.rps / v).toFixed(2)}x (per round: ${logins.map((r, i) => (r.rps / (verifies[i] ?? 1)).toFixed(2)).join(", ")}; target >= 0.9x)`,
  );
} finally {
  await server.stop();
}

import { requireWrk, startServer, wrk } from "./server.ts";

/**
 * The protected route against a bare JSON route of the same server, in one run, and login
 * throughput against the bare password-verify rate at the same cost.
 */
requireWrk();
const users = 256;
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const server = await startServer("hotpath");
try {
  const post = (path: string, body: unknown) =>
    fetch(`${server.base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const password = "benchmark password";
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
  const bare = await wrk(`${server.base}/health/live`, { seconds });
  const secured = await wrk(`${server.base}/secure/data`, { seconds, script: rotate });
  const logins = await wrk(`${server.base}/auth/login`, {
    seconds,
    script: login,
    connections: 16,
  });

  // The bare cost of the same argon2id verify the login does, with as many in flight.
  const hash = await Bun.password.hash(password, {
    algorithm: "argon2id",
    memoryCost: 19_456,
    timeCost: 2,
  });
  let verifies = 0;
  const until = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (performance.now() < until) {
        await Bun.password.verify(password, hash);
        verifies++;
      }
    }),
  );
  const verifyRate = verifies / ((performance.now() - start) / 1000);

  const row = (name: string, r: { rps: number; p50: number; p99: number; errors: number }) =>
    `| ${name} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} |`;
  console.log(
    `\nwrk -t1, 64 connections (16 for login), ${seconds} s each, ${users} distinct tokens\n`,
  );
  console.log("| route | req/s | p50 ms | p99 ms | non-2xx |");
  console.log("|---|---|---|---|---|");
  console.log(row("GET /health/live (bare)", bare));
  console.log(row("GET /secure/data (protected)", secured));
  console.log(row("POST /auth/login", logins));
  console.log(`| argon2id verify, 16 in flight (no HTTP) | ${verifyRate.toFixed(0)} | | | |`);
  console.log(
    `\nprotected / bare: ${(secured.rps / bare.rps).toFixed(2)}x (target >= 0.5x, p99 <= 5 ms)`,
  );
  console.log(`login / bare verify: ${(logins.rps / verifyRate).toFixed(2)}x (target >= 0.9x)`);
} finally {
  await server.stop();
}

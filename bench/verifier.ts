import { createVerifier } from "../src/adapters/verifier/index.ts";
import { accessTokens, median, startDefaultServer } from "./server.ts";

/**
 * The verifier library's `verify` in this process, as another service would call it: tokens of
 * distinct users (HS256, or ES256 / EdDSA with BENCH_ALGORITHM, verified from the JWKS), checked locally and against the API's Redis with one MGET each,
 * `BENCH_IN_FLIGHT` calls at a time. Reports calls per second and this process's CPU per call.
 */
const users = Number(process.env.BENCH_USERS ?? 1000);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const inFlight = Number(process.env.BENCH_IN_FLIGHT ?? 64);
/** HS256 (the secret) or ES256 / EdDSA (the API's JWKS). */
const algorithm = process.env.BENCH_ALGORITHM ?? "HS256";

const server = await startDefaultServer("verifier", {
  PASSWORD_HASH_MEMORY_KIB: "19456",
  PASSWORD_HASH_TIME_COST: "2",
  ACCESS_TOKEN_EXPIRE_MINUTES: "60",
  ALGORITHM: algorithm,
  KEY_ENCRYPTION_KEY: `${crypto.randomUUID()}${crypto.randomUUID()}`,
});
try {
  const tokens = await accessTokens(server.base, {
    prefix: "bench_",
    count: users,
    password: "benchmark password",
  });
  const verifier = createVerifier({
    issuer: "authlog",
    ...(algorithm === "HS256"
      ? { secret: server.env.JWT_SECRET ?? "" }
      : { jwksUrl: `${server.base}/.well-known/jwks.json` }),
    redisUrl: server.env.REDIS_URL ?? "",
    keyPrefix: server.prefix,
  });
  const round = async (ms: number) => {
    let calls = 0;
    let refused = 0;
    const cpu = process.cpuUsage();
    const started = performance.now();
    const until = started + ms;
    await Promise.all(
      Array.from({ length: inFlight }, async (_, lane) => {
        for (let i = lane; performance.now() < until; i += inFlight) {
          const verdict = await verifier.verify(tokens[i % tokens.length] ?? "");
          calls++;
          if (!verdict.ok) refused++;
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    return { rate: calls / elapsed, cpuUs: (used.user + used.system) / calls, refused };
  };
  await round(1000);
  const results = [];
  for (let i = 0; i < rounds; i++) results.push(await round(seconds * 1000));
  await verifier.close();
  const n = (value: number) => value.toLocaleString("en-US", { maximumFractionDigits: 0 });
  console.log(
    `\n${new Date().toISOString()}: verify() of ${n(users)} users' ${algorithm} tokens, ${inFlight} in flight, ${rounds} rounds of ${seconds} s, one process (one core)`,
  );
  console.log(
    `calls/s: ${n(median(results.map((r) => r.rate)))} (rounds: ${results.map((r) => n(r.rate)).join(", ")}); CPU per call: ${median(results.map((r) => r.cpuUs)).toFixed(1)} us; refused: ${results.reduce((sum, r) => sum + r.refused, 0)}`,
  );
} finally {
  await server.stop();
}

import { Effect } from "effect";
import { genesis, linkHash, textFields } from "../src/adapters/chain/hashChain.ts";
import { createSql, quoteIdentifier } from "../src/adapters/postgres/client.ts";
import { makePostgresEventStore } from "../src/adapters/postgres/PostgresEventStore.ts";

/**
 * `cli verify-log` on a log made with SQL (10 events a stream) against the same SHA-256 chain
 * computed over the same rows read with a plain query, in one run; RSS of both.
 */
const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const events = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const schema = `bench_verify_${crypto.randomUUID().replaceAll("-", "").slice(0, 8)}`;
const admin = createSql({ url, max: 1 });
const sql = createSql({ url, schema, max: 2 });
try {
  await admin.unsafe(`create schema ${quoteIdentifier(schema)}`);
  await Effect.runPromise(makePostgresEventStore(sql));
  const made = performance.now();
  await sql`
    insert into events (stream_id, version, type, data, metadata)
    select 'user-' || (i / 10), i % 10 + 1, 'RoleChanged',
      jsonb_build_object('userId', (i / 10)::text, 'from', 'user', 'to', 'admin', 'epoch', i % 10),
      '{"actor":"bench","requestId":"0190a0b0-0000-7000-8000-000000000000"}'
    from generate_series(0, ${events - 1}) as i`;
  await sql`
    with recursive chain as (
      select position, stream_id, version,
        authlog_link_hash(${Buffer.from(genesis)}::bytea, stream_id, version, type, data, metadata, recorded_at) as hash
      from events where version = 1
      union all
      select e.position, e.stream_id, e.version,
        authlog_link_hash(chain.hash, e.stream_id, e.version, e.type, e.data, e.metadata, e.recorded_at)
      from chain join events e on e.stream_id = chain.stream_id and e.version = chain.version + 1
    )
    update events set hash = chain.hash from chain where events.position = chain.position`;
  await sql`vacuum analyze events`;
  console.log(`made ${events} events in ${((performance.now() - made) / 1000).toFixed(1)} s`);

  const plain = async () => {
    const started = performance.now();
    let previous: Uint8Array = genesis;
    let stream = "";
    let bad = 0;
    for await (const rows of sql<
      {
        stream_id: string;
        version: number;
        type: string;
        data: string;
        metadata: string;
        micros: string;
        hash: Buffer;
      }[]
    >`select stream_id, version, type, data::text as data, metadata::text as metadata,
        ((extract(epoch from recorded_at) * 1000000)::bigint)::text as micros, hash
      from events order by stream_id, version`.cursor(2_000)) {
      for (const row of rows) {
        if (row.stream_id !== stream) {
          stream = row.stream_id;
          previous = genesis;
        }
        const fields = textFields(
          row.stream_id,
          row.version,
          row.type,
          row.data,
          row.metadata,
          row.micros,
        );
        if (!linkHash(previous, fields).equals(row.hash)) bad++;
        previous = row.hash;
      }
    }
    if (bad > 0) throw new Error(`${bad} links do not match`);
    return events / ((performance.now() - started) / 1000);
  };

  const cli = async () => {
    const started = performance.now();
    const proc = Bun.spawn([process.execPath, "src/adapters/cli/cli.ts", "verify-log"], {
      env: {
        PATH: process.env.PATH ?? "",
        DATABASE_URL: url,
        DATABASE_SCHEMA: schema,
        REDIS_URL: "redis://127.0.0.1:6379",
        JWT_SECRET: "bench-verify-log-secret-0123456789abcdef",
      },
      stdout: "pipe",
      stderr: "pipe",
    });
    const out = await new Response(proc.stdout).text();
    if ((await proc.exited) !== 0) throw new Error(out + (await new Response(proc.stderr).text()));
    const rate = events / ((performance.now() - started) / 1000);
    return { rate, rssMb: (proc.resourceUsage()?.maxRSS ?? 0) / 1024 / 1024 };
  };

  const baseline = await plain();
  const rssBefore = process.resourceUsage().maxRSS / 1024;
  const verified = await cli();
  console.log(`\n| run | events/s | peak RSS |\n|---|---:|---:|`);
  console.log(
    `| plain query + SHA-256 chain (in this process) | ${Math.round(baseline)} | ${rssBefore.toFixed(0)} MB |`,
  );
  console.log(
    `| cli verify-log (its own process, start-up included) | ${Math.round(verified.rate)} | ${verified.rssMb.toFixed(0)} MB |`,
  );
  console.log(`\nverify-log/plain: ${(verified.rate / baseline).toFixed(2)}x (target >= 0.50x)`);
} finally {
  await sql.end();
  await admin.unsafe(`drop schema if exists ${quoteIdentifier(schema)} cascade`);
  await admin.end();
}

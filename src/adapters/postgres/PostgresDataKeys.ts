import { Effect, Layer } from "effect";
import { DataKeys, type StoredKey } from "../../application/ports/DataKeys.ts";
import type { StoreUnavailable } from "../../application/ports/EventStore.ts";
import type { PostgresOptions, Sql } from "./client.ts";
import { migrate, scopedSql } from "./migrations.ts";
import { queryBounds, unavailable } from "./queries.ts";

export const makePostgresDataKeys = (
  sql: Sql,
): Effect.Effect<DataKeys["Service"], StoreUnavailable> =>
  Effect.gen(function* () {
    // Key lookups and erasures may run twice (inserts of fresh keys do nothing on a conflict, an
    // erasure sets what it sets): each is sent again past a dropped connection, as reads are.
    const { bounded, read: run } = queryBounds();
    yield* bounded(() => migrate(sql));

    const select = (subjects: readonly string[]) =>
      sql<{ subject: string; key: Uint8Array | null }[]>`
        select subject, key from user_keys where subject = any(${subjects as string[]}::text[])`;

    const keysOf: DataKeys["Service"]["keysOf"] = (subjects, fresh) =>
      run(async () => {
        const wanted = [...new Set(subjects)];
        if (wanted.length === 0) return new Map<string, StoredKey>();
        let rows = await select(wanted);
        if (fresh !== undefined && rows.length < wanted.length) {
          const known = new Set(rows.map((row) => row.subject));
          const made = wanted.filter((subject) => !known.has(subject));
          const fresher = made.map((subject) => ({ subject, key: Buffer.from(fresh(subject)) }));
          await sql`
            insert into user_keys ${sql(fresher, "subject", "key")} on conflict (subject) do nothing`;
          rows = await select(wanted);
        }
        return new Map<string, StoredKey>(rows.map((row) => [row.subject, row.key]));
      });

    return DataKeys.of({
      keysOf,
      forget: (subject, streamId) =>
        run(
          () => sql`
            with released as (delete from claims where stream_id = ${streamId})
            insert into user_keys (subject, key, erased_at) values (${subject}, null, now())
            on conflict (subject) do update
              set key = null, erased_at = coalesce(user_keys.erased_at, now())`,
        ).pipe(Effect.asVoid),
      // One statement in one transaction: all renamed or none, whatever the number of claims.
      renameClaims: (prefix, rename) =>
        bounded(() =>
          sql.begin(async (tx) => {
            const rows = await tx<{ key: string }[]>`
              select key from claims where starts_with(key, ${prefix}) for update`;
            if (rows.length === 0) return 0;
            const olds = rows.map((row) => row.key);
            await tx`
              update claims c set key = r.renamed
              from unnest(${olds}::text[], ${olds.map(rename)}::text[]) as r(old, renamed)
              where c.key = r.old`;
            return rows.length;
          }),
        ),
    });
  });

/** Its own small pool; the event store's layer creates the schema and migrates it first. */
export const PostgresDataKeysFromUrl = (options: PostgresOptions) =>
  Layer.effect(
    DataKeys,
    Effect.flatMap(
      scopedSql({ ...options, max: options.max ?? 2 }, unavailable),
      makePostgresDataKeys,
    ),
  );

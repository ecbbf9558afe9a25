import { afterAll, describe, expect, test } from "bun:test";
import { Effect, Exit } from "effect";
import { createSql } from "../../src/adapters/postgres/client.ts";
import { migrate, migrations } from "../../src/adapters/postgres/migrations.ts";
import { makePostgresEventStore } from "../../src/adapters/postgres/PostgresEventStore.ts";
import { StoreUnavailable } from "../../src/application/ports/EventStore.ts";
import { type TestSchema, testSchema } from "../support/postgres.ts";
import { eventStoreContract, type LateTransaction } from "./eventStoreContract.ts";

const schemas: TestSchema[] = [];
afterAll(async () => {
  await Promise.all(schemas.map((db) => db.drop()));
});

const lateTransaction = async (db: TestSchema): Promise<LateTransaction> => {
  const connection = await db.sql.reserve();
  let open = true;
  await connection`begin`;
  return {
    takeId: async () => {
      await connection`select pg_current_xact_id()`;
    },
    insert: async (streamId, type, position) => {
      if (position === undefined) {
        await connection`insert into events (stream_id, version, type, data)
                         values (${streamId}, 1, ${type}, '{}')`;
      } else {
        await connection`insert into events (position, stream_id, version, type, data)
                         values (${position}, ${streamId}, 1, ${type}, '{}')`;
      }
    },
    commit: async () => {
      await connection`commit`;
      open = false;
    },
    close: async () => {
      if (open) await connection`rollback`;
      open = false;
      connection.release();
    },
  };
};

// Each test gets its own schema, so no notification or row of one test reaches another.
eventStoreContract(
  "PostgreSQL",
  async () => {
    const db = await testSchema("event-store", { max: 8 });
    schemas.push(db);
    const store = await Effect.runPromise(makePostgresEventStore(db.sql));
    return {
      store,
      dispose: async () => {
        schemas.splice(schemas.indexOf(db), 1);
        await db.drop();
      },
      late: {
        begin: () => lateTransaction(db),
        reservePosition: async () => {
          const [row] = await db.sql<{ position: string }[]>`
            select nextval(pg_get_serial_sequence('events', 'position')) as position`;
          return Number(row?.position);
        },
      },
    };
  },
  { concurrentWriters: true, durableFiles: false },
);

describe("PostgreSQL event store outside the contract", () => {
  test("the log is ordered by transaction id as a number, not as text", async () => {
    const db = await testSchema("event-order", { max: 2 });
    schemas.push(db);
    const store = await Effect.runPromise(makePostgresEventStore(db.sql));
    // Rows of long-finished transactions 9 and 10 (below any snapshot's xmin): "10" < "9" as text.
    await db.sql`insert into events (transaction_id, stream_id, version, type, data)
                 values ('10'::xid8, 'b', 1, 'Second', '{}'), ('9'::xid8, 'a', 1, 'First', '{}')`;
    const first = await Effect.runPromise(store.readAll("", 1));
    expect(first.events.map((e) => e.type)).toEqual(["First"]);
    const second = await Effect.runPromise(store.readAll(first.checkpoint, 10));
    expect(second.events.map((e) => e.type)).toEqual(["Second"]);
  });

  test("an unreachable database fails with StoreUnavailable", async () => {
    const sql = createSql({ url: "postgres://postgres@127.0.0.1:1/postgres", max: 1 });
    try {
      const error = await Effect.runPromise(Effect.flip(makePostgresEventStore(sql)));
      expect(error).toBeInstanceOf(StoreUnavailable);
    } finally {
      await sql.end({ timeout: 1 });
    }
  });

  test("migrations are recorded once and a second start applies nothing", async () => {
    const db = await testSchema("event-store-migrations");
    schemas.push(db);
    const [first, second] = await Promise.all([migrate(db.sql), migrate(db.sql)]);
    expect([...(first ?? []), ...(second ?? [])]).toEqual(migrations.map((m) => m.version));
    expect(await migrate(db.sql)).toEqual([]);
    const rows = await db.sql<
      { version: number }[]
    >`select version from schema_migrations order by version`;
    expect(rows.map((row) => row.version)).toEqual(migrations.map((m) => m.version));
  });

  test("a checkpoint the store did not issue is a defect, not a failure", async () => {
    const db = await testSchema("event-store-checkpoint");
    schemas.push(db);
    const store = await Effect.runPromise(makePostgresEventStore(db.sql));
    const exit = await Effect.runPromiseExit(store.readAll("42", 10));
    expect(exit._tag === "Failure" && Exit.hasDies(exit)).toBe(true);
  });
});

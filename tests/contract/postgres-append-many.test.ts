import { Effect } from "effect";
import { makePostgresEventStore } from "../../src/adapters/postgres/PostgresEventStore.ts";
import { testSchema } from "../support/postgres.ts";
import { appendManyContract } from "./appendManyContract.ts";
import { chainContract } from "./chainContract.ts";

appendManyContract("PostgreSQL", async () => {
  const db = await testSchema("append-many", { max: 8 });
  const store = await Effect.runPromise(makePostgresEventStore(db.sql));
  return { store, dispose: db.drop };
});

chainContract("PostgreSQL", async () => {
  const db = await testSchema("chain", { max: 8 });
  const store = await Effect.runPromise(makePostgresEventStore(db.sql));
  return { store, dispose: db.drop };
});

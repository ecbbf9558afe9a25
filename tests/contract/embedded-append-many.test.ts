import { openEmbeddedEventStore } from "../../src/adapters/embedded/EmbeddedEventStore.ts";
import { appendManyContract } from "./appendManyContract.ts";

appendManyContract("embedded SQLite in memory", async () => {
  const embedded = openEmbeddedEventStore(":memory:");
  return { store: embedded.store, dispose: async () => embedded.close() };
});

import { openEmbeddedEventStore } from "../../src/adapters/embedded/EmbeddedEventStore.ts";
import { appendManyContract } from "./appendManyContract.ts";
import { chainContract } from "./chainContract.ts";

appendManyContract("embedded SQLite in memory", async () => {
  const embedded = openEmbeddedEventStore(":memory:");
  return { store: embedded.store, dispose: async () => embedded.close() };
});

chainContract("embedded SQLite in memory", async () => {
  const embedded = openEmbeddedEventStore(":memory:");
  return { store: embedded.store, dispose: async () => embedded.close() };
});

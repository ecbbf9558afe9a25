import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openEmbeddedEventStore } from "../../src/adapters/embedded/EmbeddedEventStore.ts";
import { eventStoreContract } from "./eventStoreContract.ts";

eventStoreContract(
  "embedded SQLite file",
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "authlog-events-"));
    const path = join(dir, "events.sqlite");
    let current = openEmbeddedEventStore(path);
    return {
      store: current.store,
      dispose: async () => {
        current.close();
        rmSync(dir, { recursive: true, force: true });
      },
      reopen: async () => {
        current.close();
        current = openEmbeddedEventStore(path);
        return current.store;
      },
    };
  },
  { concurrentWriters: false, durableFiles: true },
);

eventStoreContract(
  "embedded SQLite in memory",
  async () => {
    const embedded = openEmbeddedEventStore(":memory:");
    return { store: embedded.store, dispose: async () => embedded.close() };
  },
  { concurrentWriters: false, durableFiles: false },
);

test("a second process cannot open a data directory in use", () => {
  const dir = mkdtempSync(join(tmpdir(), "authlog-events-"));
  const path = join(dir, "events.sqlite");
  const first = openEmbeddedEventStore(path);
  try {
    const script = `import { openEmbeddedEventStore } from "${join(import.meta.dir, "../../src/adapters/embedded/EmbeddedEventStore.ts")}";
try { openEmbeddedEventStore(${JSON.stringify(path)}); console.log("opened"); } catch (e) { console.log(String(e)); }`;
    const other = Bun.spawnSync([process.execPath, "-e", script]);
    expect(other.stdout.toString()).toContain("in use by another process");
  } finally {
    first.close();
  }
  const again = openEmbeddedEventStore(path);
  again.close();
  rmSync(dir, { recursive: true, force: true });
});

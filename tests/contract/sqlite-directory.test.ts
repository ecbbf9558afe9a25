import { afterAll } from "bun:test";
import { openSqliteDirectory } from "../../src/adapters/embedded/SqliteDirectory.ts";
import { directoryContract } from "./directoryContract.ts";

const opened: ReturnType<typeof openSqliteDirectory>[] = [];
afterAll(() => {
  for (const directory of opened) directory.close();
});

directoryContract("SQLite", async () => {
  const directory = openSqliteDirectory(":memory:");
  opened.push(directory);
  return directory.directory;
});

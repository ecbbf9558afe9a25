import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Exit, Scope } from "effect";
import { openSqliteDirectory } from "../../src/adapters/embedded/SqliteDirectory.ts";
import { directoryContract } from "./directoryContract.ts";

const opened: ReturnType<typeof openSqliteDirectory>[] = [];
const files = mkdtempSync(join(tmpdir(), "authlog-directory-contract-"));
let last = "";
afterAll(() => {
  for (const directory of opened) directory.close();
  rmSync(files, { recursive: true, force: true });
});

directoryContract(
  "SQLite",
  async () => {
    last = join(files, `${crypto.randomUUID()}.sqlite`);
    const directory = openSqliteDirectory(last);
    opened.push(directory);
    return directory.directory;
  },
  async () => {
    const db = new Database(last, { readonly: true });
    try {
      const row = db
        .query<{ rows: number }, []>(
          "select (select count(*) from directory_users) + (select count(*) from directory_sessions) as rows",
        )
        .get();
      return row?.rows ?? 0;
    } finally {
      db.close();
    }
  },
);

test("two handles on one file in a process: a second rebuild is refused while the first runs", async () => {
  const dir = mkdtempSync(join(tmpdir(), "authlog-directory-"));
  const first = openSqliteDirectory(join(dir, "directory.sqlite"));
  const second = openSqliteDirectory(join(dir, "directory.sqlite"));
  opened.push(first, second);
  try {
    const scope = await Effect.runPromise(Scope.make());
    await Effect.runPromise(Scope.provide(first.directory.build, scope));
    const refused = await Effect.runPromise(Effect.flip(Effect.scoped(second.directory.build)));
    expect(refused._tag).toBe("DirectoryRebuilding");
    await Effect.runPromise(Scope.close(scope, Exit.void));
    await Effect.runPromise(
      Effect.scoped(Effect.flatMap(second.directory.build, (build) => build.publish("c1"))),
    );
    expect(await Effect.runPromise(first.directory.checkpoint)).toBe("c1");
  } finally {
    first.close();
    second.close();
    opened.splice(0);
    rmSync(dir, { recursive: true, force: true });
  }
});

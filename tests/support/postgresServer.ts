import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./net.ts";

const binDir = () => {
  const versions = readdirSync("/usr/lib/postgresql").sort();
  return `/usr/lib/postgresql/${versions.at(-1)}/bin`;
};

/** A throwaway PostgreSQL cluster on a spare port that a test can stop and start again. */
export const throwawayPostgres = async () => {
  const bin = binDir();
  const port = freePort();
  const dir = mkdtempSync(join(tmpdir(), "authlog-pg-"));
  // PostgreSQL refuses to run as root: then it runs as the postgres user.
  const asOwner = process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--"] : [];
  if (asOwner.length > 0) Bun.spawnSync(["chown", "postgres", dir]);
  const data = join(dir, "data");
  const init = Bun.spawnSync(
    [...asOwner, `${bin}/initdb`, "-D", data, "-A", "trust", "-U", "postgres"],
    {
      stdout: "ignore",
      stderr: "pipe",
    },
  );
  if (init.exitCode !== 0) throw new Error(`initdb failed: ${init.stderr.toString()}`);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const pgCtl = (...args: string[]) =>
    Bun.spawn([...asOwner, `${bin}/pg_ctl`, "-D", data, ...args], {
      stdout: "ignore",
      stderr: "ignore",
    }).exited;

  const start = async () => {
    await pgCtl("start", "-w", "-l", join(dir, "log"), "-o", options);
  };

  /** Fast shutdown: open connections are cut. */
  const stop = async () => {
    await pgCtl("stop", "-w", "-m", "fast");
  };

  /** Freezes the server and every backend: connections stay open, nothing is answered. */
  const signalAll = (signal: "STOP" | "CONT") => {
    const pid = readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0] ?? "";
    Bun.spawnSync(["pkill", `-${signal}`, "-P", pid]);
    Bun.spawnSync(["kill", `-${signal}`, pid]);
  };
  const freeze = () => signalAll("STOP");
  const thaw = () => signalAll("CONT");

  const remove = async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  };

  await start();
  return { url, port, start, stop, freeze, thaw, remove };
};

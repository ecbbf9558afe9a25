import { Effect, ManagedRuntime } from "effect";
import { followDirectory, rebuildDirectory } from "../../application/DirectoryProjector.ts";
import { replay } from "../../application/Projector.ts";
import { EventStore } from "../../application/ports/EventStore.ts";
import { verifyProjection } from "../../application/verify.ts";
import { verifyDirectory } from "../../application/verifyDirectory.ts";
import { replayServices } from "../../composition.ts";
import type { Config } from "../config/Config.ts";
import { jsonLogger } from "../logging/jsonLogger.ts";
import { progress } from "./progress.ts";

export type ProjectionName = "tokens" | "directory" | "all";

/** Rebuilds the projections (safe under traffic); `--verify` answers 1 on any difference. */
export const replayCommand = async (
  config: Config,
  verify: boolean,
  projection: ProjectionName = "all",
): Promise<number> => {
  const embedded = config.storage.mode === "embedded";
  if (embedded && projection !== "directory") {
    console.log("Embedded mode keeps its token state in process and rebuilds it at every start.");
    if (projection === "tokens") return 0;
  }
  const started = performance.now();
  const log = jsonLogger("error");
  // A bulk write of thousands of keys is one deadline: give it the time a batch needs.
  const bulk = { ...config, storage: { ...config.storage, redisCommandTimeoutMs: 30_000 } };
  const runtime = ManagedRuntime.make(replayServices(bulk, log));

  const directory = Effect.gen(function* () {
    if (verify) {
      // The directory may trail the log: what it has not applied yet is no difference.
      yield* followDirectory;
      const result = yield* verifyDirectory;
      for (const difference of result.differences.slice(0, 50))
        console.log(JSON.stringify(difference));
      console.log(`directory: ${result.users} users, ${result.differences.length} differences`);
      return result.differences.length === 0 ? 0 : 1;
    }
    const began = performance.now();
    const summary = yield* rebuildDirectory().pipe(
      Effect.catchTag("DirectoryRebuilding", () => Effect.succeed(null)),
    );
    if (summary === null) {
      console.log("directory: another rebuild is running; nothing done");
      return 1;
    }
    const seconds = (performance.now() - began) / 1000;
    console.log(
      `directory rebuilt from ${summary.events} events in ${seconds.toFixed(2)} s ` +
        `(${Math.round(summary.events / Math.max(seconds, 1e-9))}/s)`,
    );
    return 0;
  });

  const tokens = Effect.gen(function* () {
    if (verify) {
      const result = yield* verifyProjection;
      for (const difference of result.differences.slice(0, 50))
        console.log(JSON.stringify(difference));
      console.log(
        `${result.users} users, ${result.revocations} revocations in force, ${result.differences.length} differences`,
      );
      return result.differences.length === 0 ? 0 : 1;
    }
    const log = yield* (yield* EventStore).size;
    const bar = progress(process.stdout, log);
    let batches = 0;
    const summary = yield* replay((phase, events, keys) => {
      bar.advance(phase, events, keys);
      // A collection now and then keeps the footprint flat; the engine would let it grow.
      if (++batches % 10 === 0) Bun.gc(false);
    });
    bar.done();
    const seconds = (performance.now() - started) / 1000;
    const rss = process.resourceUsage().maxRSS / 1024;
    console.log(
      `replayed a log of ${log} events in ${seconds.toFixed(2)} s: ${summary.events} read ` +
        `(${Math.round(summary.events / Math.max(seconds, 1e-9))}/s), ` +
        `${summary.keys} keys written, peak RSS ${rss.toFixed(0)} MB`,
    );
    return 0;
  });

  const exit = await runtime.runPromiseExit(
    Effect.gen(function* () {
      const first = projection === "directory" || embedded ? 0 : yield* tokens;
      const second = projection === "tokens" ? 0 : yield* directory;
      return Math.max(first, second);
    }),
  );
  await runtime.dispose();
  if (exit._tag === "Failure") {
    console.error(
      embedded
        ? "replay failed: the embedded store is in use by a running API (stop it first) or unreadable"
        : "replay failed: the event store, the directory or Redis is unreachable",
    );
    return 2;
  }
  return exit.value;
};

import { Cause, Data, Effect, type Layer, ManagedRuntime } from "effect";
import { EventStore, type StoreUnavailable } from "../../application/ports/EventStore.ts";
import { LogSigner } from "../../application/ports/LogSigner.ts";
import { sealLog } from "../../application/seal.ts";
import { isLogSealed, type LogSealed, sealMessage, sealStream } from "../../domain/LogSeal.ts";
import { chainChecker } from "../chain/verify.ts";
import { counter } from "./progress.ts";

class Stopped extends Data.TaggedError("Stopped") {}

type LogServices = Layer.Layer<EventStore | LogSigner, StoreUnavailable>;

export const run = async <R>(
  layer: Layer.Layer<R, StoreUnavailable>,
  program: Effect.Effect<number, StoreUnavailable, R>,
) => {
  const runtime = ManagedRuntime.make(layer);
  const exit = await runtime.runPromiseExit(program);
  await runtime.dispose();
  if (exit._tag === "Success") return exit.value;
  const failure = exit.cause.reasons.find(Cause.isFailReason)?.error.cause;
  const why = failure instanceof Error ? failure.message : String(failure ?? "no answer");
  // Embedded mode: the running server holds the data directory.
  console.error(
    why.includes("in use by another process")
      ? `${why}: stop the server first.`
      : `The event store is unavailable (${why}); check it and retry.`,
  );
  return 3;
};

type Verdict = {
  readonly events: number;
  readonly streams: number;
  readonly seal: (LogSealed & { readonly position: number }) | null;
  /** What breaks the chains or the newest seal, in a sentence; null when intact. */
  readonly broken: string | null;
  /** The newest seal no longer matches, though every link holds. */
  readonly sealOnly: boolean;
};

/** Walks every stream with a progress bar, checking each link and the newest seal. */
export const checkLog = Effect.gen(function* () {
  const store = yield* EventStore;
  const signer = yield* LogSigner;
  const last = yield* store.lastOf(sealStream);
  const seal = last && isLogSealed(last.data) ? { ...last.data, position: last.position } : null;
  const verdict = (broken: string | null, rest: Partial<Verdict> = {}): Verdict => ({
    events: 0,
    streams: 0,
    seal,
    broken,
    sealOnly: false,
    ...rest,
  });
  if (last && !seal) return verdict(`the newest seal (position ${last.position}) is not a seal`);
  if (seal && !(yield* signer.verify(sealMessage(seal), seal.signature))) {
    return verdict(`the seal at position ${seal.position} does not carry our signature`);
  }
  const size = yield* store.size;
  const bar = counter(process.stdout, size, "events checked");
  const checker = chainChecker(seal);
  let batches = 0;
  yield* store
    .links((links) =>
      Effect.sync(() => {
        const intact = checker.add(links);
        bar.advance(links.length);
        if (++batches % 50 === 0) Bun.gc(false);
        return intact;
      }).pipe(Effect.flatMap((intact) => (intact ? Effect.void : Effect.fail(new Stopped())))),
    )
    .pipe(Effect.catchTag("Stopped", () => Effect.void));
  bar.done();
  const result = checker.finish();
  const counts = { events: checker.events, streams: result.streams };
  if (result.broken) {
    const { streamId, version, problem } = result.broken;
    return verdict(`stream ${streamId} at version ${version}: ${problem}`, counts);
  }
  if (result.seal) return verdict(result.seal, { ...counts, sealOnly: true });
  return verdict(null, counts);
});

/** Walks every stream, checks each link and the newest seal; 1 on any break. */
export const verifyLogCommand = (layer: LogServices) =>
  run(
    layer,
    Effect.gen(function* () {
      const { events, streams, seal, broken } = yield* checkLog;
      if (broken) {
        console.log(`Broken: ${broken}.`);
        return 1;
      }
      const sealed = seal
        ? `; the seal at position ${seal.position} matches (up to ${seal.upTo}, root ${seal.root})`
        : "; there is no seal yet (run `cli seal`)";
      console.log(`Intact: ${events} events in ${streams} streams${sealed}.`);
      return 0;
    }),
  );

export const sealCommand = (layer: LogServices, actor: string) =>
  run(
    layer,
    Effect.gen(function* () {
      const outcome = yield* sealLog({ actor, requestId: crypto.randomUUID() }).pipe(
        Effect.catchTag(["VersionConflict", "ClaimTaken"], () => Effect.succeed(null)),
      );
      if (outcome === null) {
        console.log("Another process sealed the log at the same moment; run it again if needed.");
        return 0;
      }
      if ("unchanged" in outcome) {
        console.log(`Nothing new since the seal at position ${outcome.unchanged}.`);
        return 0;
      }
      const { position, upTo, streams, root } = outcome.sealed;
      console.log(`Sealed at position ${position}: ${streams} streams up to ${upTo}, root ${root}`);
      return 0;
    }),
  );

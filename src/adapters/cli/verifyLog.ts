import { Data, Effect, type Layer, ManagedRuntime } from "effect";
import { EventStore, type StoreUnavailable } from "../../application/ports/EventStore.ts";
import { LogSigner } from "../../application/ports/LogSigner.ts";
import { sealLog } from "../../application/seal.ts";
import { isLogSealed, sealMessage, sealStream } from "../../domain/LogSeal.ts";
import { chainChecker } from "../chain/verify.ts";
import { counter } from "./progress.ts";

class Stopped extends Data.TaggedError("Stopped") {}

type LogServices = Layer.Layer<EventStore | LogSigner, StoreUnavailable>;

const run = async (
  layer: LogServices,
  program: Effect.Effect<number, StoreUnavailable, EventStore | LogSigner>,
) => {
  const runtime = ManagedRuntime.make(layer);
  const exit = await runtime.runPromiseExit(program);
  await runtime.dispose();
  if (exit._tag === "Success") return exit.value;
  console.error("The event store is unavailable; check it and retry.");
  return 3;
};

/** Walks every stream, checks each link and the newest seal; 1 on any break. */
export const verifyLogCommand = (layer: LogServices) =>
  run(
    layer,
    Effect.gen(function* () {
      const store = yield* EventStore;
      const signer = yield* LogSigner;
      const last = yield* store.lastOf(sealStream);
      const seal =
        last && isLogSealed(last.data) ? { ...last.data, position: last.position } : null;
      if (last && !seal) {
        console.log(`Broken: the newest seal (position ${last.position}) is not a seal.`);
        return 1;
      }
      if (seal && !(yield* signer.verify(sealMessage(seal), seal.signature))) {
        console.log(`Broken: the seal at position ${seal.position} does not carry our signature.`);
        return 1;
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
      if (result.broken) {
        const { streamId, version, problem } = result.broken;
        console.log(`Broken: stream ${streamId} at version ${version}: ${problem}.`);
        return 1;
      }
      if (result.seal) {
        console.log(`Broken: ${result.seal}.`);
        return 1;
      }
      const sealed = seal
        ? `; the seal at position ${seal.position} matches (up to ${seal.upTo}, root ${seal.root})`
        : "; there is no seal yet (run `cli seal`)";
      console.log(`Intact: ${checker.events} events in ${result.streams} streams${sealed}.`);
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

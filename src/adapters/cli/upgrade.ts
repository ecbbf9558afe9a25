import { Effect } from "effect";
import { EventStore } from "../../application/ports/EventStore.ts";
import { PersonalFields } from "../../application/ports/PersonalFields.ts";
import { sealLog } from "../../application/seal.ts";
import { rewriteStartedType, rewriteStream, sealStream } from "../../domain/LogSeal.ts";
import { counter } from "./progress.ts";
import { checkLog } from "./verifyLog.ts";

/** Events per transaction: appends wait for each one, so it stays short. */
const batch = 200;

/**
 * Seals the plain personal fields of events written before sealing existed, re-chaining each
 * rewritten stream, then seals the log anew. Refuses a log whose chains are already broken:
 * re-chaining would hide the break.
 */
export const upgradePersonalData = (actor: string) =>
  Effect.gen(function* () {
    const store = yield* EventStore;
    const personal = yield* PersonalFields;
    const metadata = { actor, requestId: crypto.randomUUID() };
    const before = yield* checkLog;
    const started = yield* store.lastOf(rewriteStream);
    const resuming = started !== null && started.position > (before.seal?.position ?? 0);
    if (before.broken && !(before.sealOnly && resuming)) {
      console.log(`Broken: ${before.broken}.`);
      console.log("Nothing was rewritten: find out why with verify-log first.");
      return 1;
    }
    const first = yield* store.holdingPlain(personal.fields, 0, batch);
    if (first.length > 0 && !resuming) {
      const marked = yield* store
        .append(
          rewriteStream,
          [{ type: rewriteStartedType, data: { supersedes: before.seal?.position ?? null } }],
          { expectedVersion: started?.version ?? 0, metadata },
        )
        .pipe(
          Effect.as(true),
          Effect.catchTag(["VersionConflict", "ClaimTaken"], () => Effect.succeed(false)),
        );
      if (!marked) {
        console.log("Another upgrade began at the same moment: let it finish, then run again.");
        return 1;
      }
    }
    const bar = counter(process.stdout, before.events, "events scanned");
    let events = 0;
    const streams = new Set<string>();
    let page = first;
    while (page.length > 0) {
      const rewrites = yield* personal.seal(page);
      events += yield* store.rewrite(rewrites);
      for (const { event } of rewrites) streams.add(event.streamId);
      const last = page[page.length - 1]?.position ?? 0;
      bar.advance(page.length);
      page = yield* store.holdingPlain(personal.fields, last, batch);
    }
    bar.done();
    if (first.length === 0 && !resuming) {
      console.log("Nothing to upgrade: every personal field in the log is sealed.");
      return 0;
    }
    console.log(`Sealed the personal fields of ${events} events in ${streams.size} streams.`);
    // A seal another instance computed while a stream was rewritten may land after ours.
    for (let attempt = 0; attempt < 3; attempt++) {
      const outcome = yield* sealLog(metadata).pipe(
        Effect.catchTag(["VersionConflict", "ClaimTaken"], () => Effect.succeed(null)),
      );
      if (outcome !== null && "sealed" in outcome) {
        const newest = yield* store.lastOf(sealStream);
        if (newest?.position !== outcome.sealed.position) continue;
        const { position, upTo, root } = outcome.sealed;
        const older = before.seal
          ? `; seals up to position ${before.seal.position} no longer match`
          : "";
        console.log(`Sealed at position ${position} (up to ${upTo}, root ${root})${older}.`);
        return 0;
      }
    }
    console.log("Could not seal the log: run `cli seal`, then `cli verify-log`.");
    return 1;
  });

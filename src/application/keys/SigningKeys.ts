import { Clock, Context, Effect, Layer } from "effect";
import {
  activeKey,
  decideKeyRing,
  emptyKeyRing,
  evolveKeyRing,
  type FreshKeys,
  foldKeyRing,
  type KeyRing,
  type KeyRingCommand,
} from "../../domain/keys/KeyRing.ts";
import { keysStream, type SigningKeyEvent } from "../../domain/keys/SigningKeyEvents.ts";
import { KeysNotManaged, SigningKeyNotFound } from "../errors.ts";
import { retryOnConflict, stored } from "../events.ts";
import { EventStore, type Metadata } from "../ports/EventStore.ts";
import { KeyGenerator } from "../ports/KeyGenerator.ts";
import { KeySettings } from "../ports/KeySettings.ts";

/** The ring at a version of the `keys` stream. */
export type RingView = { readonly version: number; readonly ring: KeyRing };

export class SigningKeys extends Context.Service<
  SigningKeys,
  {
    /** The ring as this instance knows it; synchronous, as the token check reads it. */
    readonly current: () => RingView;
    /** Makes a newer view current; an older one changes nothing. */
    readonly advance: (view: RingView) => Effect.Effect<void>;
  }
>()("app/SigningKeys") {}

export const startupActor = "system:startup";
export const scheduleActor = "system:key-rotation";

export const loadKeyRing = Effect.gen(function* () {
  const records = yield* (yield* EventStore).readStream(keysStream);
  const events = records.map((r) => ({ type: r.type, data: r.data }) as SigningKeyEvent);
  return { version: records.length, ring: foldKeyRing(events) } satisfies RingView;
});

/** Decides `command` against the ring in the log and appends; decided again on a conflict. */
export const changeKeyRing = (
  command: (fresh: FreshKeys, now: number) => KeyRingCommand,
  metadata: Metadata,
) =>
  Effect.gen(function* () {
    const { algorithm } = yield* KeySettings;
    if (algorithm === "HS256") return yield* new KeysNotManaged();
    const generator = yield* KeyGenerator;
    const fresh: FreshKeys = [
      yield* generator.generate(algorithm),
      yield* generator.generate(algorithm),
    ];
    const store = yield* EventStore;
    return yield* retryOnConflict(
      Effect.gen(function* () {
        const loaded = yield* loadKeyRing;
        const decision = decideKeyRing(command(fresh, yield* Clock.currentTimeMillis), loaded.ring);
        if (!decision.ok) return yield* new SigningKeyNotFound();
        if (decision.events.length > 0) {
          yield* store
            .append(keysStream, decision.events, {
              expectedVersion: loaded.version,
              metadata: stored(metadata),
            })
            .pipe(Effect.catchTag("ClaimTaken", (e) => Effect.die(e)));
        }
        return {
          version: loaded.version + decision.events.length,
          ring: decision.events.reduce(evolveKeyRing, loaded.ring),
        } satisfies RingView;
      }),
    );
  });

export const NoSigningKeys = Layer.succeed(SigningKeys, {
  current: () => ({ version: 0, ring: emptyKeyRing }),
  advance: () => Effect.void,
});

/** Makes the first keys if there are none, then follows the stream every `pollMs` (decision 38). */
export const SigningKeysLive = (options: { readonly pollMs: number }) =>
  Layer.effect(
    SigningKeys,
    Effect.gen(function* () {
      const store = yield* EventStore;
      const { rotationMs } = yield* KeySettings;
      let view: RingView = yield* changeKeyRing(
        (fresh, now) => ({ type: "EnsureKeys", now, fresh }),
        { actor: startupActor },
      );
      const advance = (next: RingView) => {
        if (next.version > view.version) view = next;
      };
      // An append of no events only checks the version: the cheap question "has it moved?".
      const moved = Effect.suspend(() =>
        store.append(keysStream, [], { expectedVersion: view.version }),
      ).pipe(
        Effect.as(false),
        Effect.catchTag("VersionConflict", () => Effect.succeed(true)),
      );
      const rotateIfDue = Effect.gen(function* () {
        const since = activeKey(view.ring)?.activatedAt;
        const now = yield* Clock.currentTimeMillis;
        if (rotationMs === 0 || since == null || since + rotationMs > now) return;
        advance(
          yield* changeKeyRing(
            (fresh, at) => ({ type: "RotateKeys", now: at, fresh, activeSince: at - rotationMs }),
            { actor: scheduleActor },
          ),
        );
      });
      // A log that cannot be read leaves the last ring in place; the next poll tries again. A
      // defect too: one stopped poll would leave this instance blind to key revocations.
      const poll = Effect.gen(function* () {
        if (yield* moved) advance(yield* loadKeyRing);
        yield* rotateIfDue;
      }).pipe(
        Effect.catch(() => Effect.void),
        Effect.catchDefect(() => Effect.void),
      );
      yield* Effect.forever(Effect.andThen(Effect.sleep(options.pollMs), poll)).pipe(
        Effect.forkScoped,
      );
      return {
        current: () => view,
        advance: (next) => Effect.sync(() => advance(next)),
      };
    }),
  );

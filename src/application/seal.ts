import { Effect, Layer } from "effect";
import { type LogSealed, sealMessage, sealStream, sealType } from "../domain/LogSeal.ts";
import { EventStore, type Metadata } from "./ports/EventStore.ts";
import { LogSigner } from "./ports/LogSigner.ts";

export type SealOutcome =
  | { readonly sealed: LogSealed & { readonly position: number } }
  | { readonly unchanged: number };

/**
 * Appends a signed `LogSealed` covering every event so far, unless the newest event is already
 * a seal. VersionConflict: another process sealed meanwhile.
 */
export const sealLog = (metadata: Metadata = {}) =>
  Effect.gen(function* () {
    const store = yield* EventStore;
    const signer = yield* LogSigner;
    const point = yield* store.sealPoint;
    if (point.sealPosition > 0 && point.upTo === point.sealPosition) {
      return { unchanged: point.sealPosition } satisfies SealOutcome;
    }
    const seal = { streams: point.streams, root: point.root, upTo: point.upTo };
    const sealed: LogSealed = { ...seal, signature: yield* signer.sign(sealMessage(seal)) };
    const result = yield* store.append(sealStream, [{ type: sealType, data: sealed }], {
      expectedVersion: point.sealVersion,
      metadata,
    });
    return {
      sealed: { ...sealed, position: result.events[0]?.position ?? 0 },
    } satisfies SealOutcome;
  });

/** Seals every `minutes` while the scope lives; a failed seal waits for the next turn. */
export const LogSealerLive = (minutes: number, onError: (error: string) => void) =>
  minutes <= 0
    ? Layer.empty
    : Layer.effectDiscard(
        Effect.sleep(`${minutes} minutes`).pipe(
          Effect.andThen(sealLog({ actor: "authlog" })),
          Effect.catch((error) => Effect.sync(() => onError(error._tag))),
          Effect.forever,
          Effect.forkScoped,
        ),
      );

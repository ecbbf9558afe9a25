import { Context } from "effect";
import type { SigningAlgorithm } from "../../domain/keys/SigningKeyEvents.ts";

/** HS256 signs with the shared secret; the others with the key ring of the `keys` stream. */
export type TokenAlgorithm = "HS256" | SigningAlgorithm;

export class KeySettings extends Context.Service<
  KeySettings,
  {
    readonly algorithm: TokenAlgorithm;
    /** Rotates once the active key has signed this long; 0: only when asked. */
    readonly rotationMs: number;
  }
>()("app/KeySettings") {}

import { Context, type Effect } from "effect";
import type { NewSigningKey, SigningAlgorithm } from "../../domain/keys/SigningKeyEvents.ts";

export class KeyGenerator extends Context.Service<
  KeyGenerator,
  {
    /** A fresh key pair, its private half sealed under the key-encryption key; never fails. */
    readonly generate: (alg: SigningAlgorithm) => Effect.Effect<NewSigningKey>;
  }
>()("app/KeyGenerator") {}

import { Context, type Effect } from "effect";

export class ClientSecrets extends Context.Service<
  ClientSecrets,
  {
    /** A fresh secret of 256 random bits, in characters that need no encoding anywhere. */
    readonly generate: Effect.Effect<string>;
    /** What the log keeps instead of the secret; the same secret always gives the same hash. */
    readonly hash: (secret: string) => string;
    /** Constant-time; false for a malformed hash. */
    readonly matches: (secret: string, hash: string) => boolean;
  }
>()("app/ClientSecrets") {}

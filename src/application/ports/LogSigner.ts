import { Context, type Effect } from "effect";

/** Signs and checks the log's seals; the signature names its algorithm, so keys can change. */
export class LogSigner extends Context.Service<
  LogSigner,
  {
    readonly sign: (message: string) => Effect.Effect<string>;
    readonly verify: (message: string, signature: string) => Effect.Effect<boolean>;
  }
>()("app/LogSigner") {}

import { Context, type Effect } from "effect";

export class PasswordHasher extends Context.Service<
  PasswordHasher,
  {
    /** An argon2id PHC string. */
    readonly hash: (password: string) => Effect.Effect<string>;
    /** Constant-time; false for a malformed hash. */
    readonly verify: (password: string, hash: string) => Effect.Effect<boolean>;
    /** Costs what a real verify does, so a login for an unknown user takes as long. */
    readonly verifyDummy: (password: string) => Effect.Effect<void>;
  }
>()("app/PasswordHasher") {}

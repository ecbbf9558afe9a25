import { Context, type Effect } from "effect";

export class PasswordHasher extends Context.Service<
  PasswordHasher,
  {
    /** An argon2id PHC string. */
    readonly hash: (password: string) => Effect.Effect<string>;
    /** Constant-time; false for a malformed hash. */
    readonly verify: (password: string, hash: string) => Effect.Effect<boolean>;
    /**
     * Spends the same time as a real verify, for a login whose user does not exist, so the
     * answer's timing does not tell the two cases apart.
     */
    readonly verifyDummy: (password: string) => Effect.Effect<void>;
  }
>()("app/PasswordHasher") {}

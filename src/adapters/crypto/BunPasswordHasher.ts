import { Effect, Layer } from "effect";
import { PasswordHasher } from "../../application/ports/PasswordHasher.ts";

export type HashCost = {
  /** KiB; OWASP's floor for argon2id is 19 MiB with t=2, p=1. */
  readonly memoryCost: number;
  readonly timeCost: number;
};

export const makePasswordHasher = (cost: HashCost): PasswordHasher["Service"] => {
  const options = { algorithm: "argon2id", ...cost } as const;
  // A real hash of a random password, so a login for an unknown user costs what a real one does.
  const dummy = Bun.password.hash(crypto.randomUUID(), options);
  const verify = (password: string, hash: string) =>
    Effect.promise(() => Bun.password.verify(password, hash).catch(() => false));
  return {
    hash: (password) => Effect.promise(() => Bun.password.hash(password, options)),
    verify,
    verifyDummy: (password) =>
      Effect.promise(() => dummy).pipe(
        Effect.flatMap((hash) => verify(password, hash)),
        Effect.asVoid,
      ),
  };
};

export const BunPasswordHasherLayer = (cost: HashCost) =>
  Layer.sync(PasswordHasher, () => makePasswordHasher(cost));

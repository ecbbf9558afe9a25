import { hash, type Options, verify } from "@node-rs/argon2";
import { Effect, Layer } from "effect";
import { PasswordHasher } from "../../application/ports/PasswordHasher.ts";
import type { HashCost } from "./BunPasswordHasher.ts";

/** `Algorithm.Argon2id`, a const enum that isolated modules cannot read. */
const argon2id = 2 as NonNullable<Options["algorithm"]>;

/** The same PHC strings and parameters as `Bun.password`: each verifies the other's hashes. */
export const makeNodeRsPasswordHasher = (cost: HashCost): PasswordHasher["Service"] => {
  const options: Options = {
    algorithm: argon2id,
    memoryCost: cost.memoryCost,
    timeCost: cost.timeCost,
    parallelism: 1,
  };
  const dummy = hash(crypto.randomUUID(), options);
  const check = (password: string, encoded: string) =>
    Effect.promise(() => verify(encoded, password).catch(() => false));
  return {
    hash: (password) => Effect.promise(() => hash(password, options)),
    verify: check,
    verifyDummy: (password) =>
      Effect.promise(() => dummy).pipe(
        Effect.flatMap((encoded) => check(password, encoded)),
        Effect.asVoid,
      ),
  };
};

export const NodeRsArgon2PasswordHasherLayer = (cost: HashCost) =>
  Layer.sync(PasswordHasher, () => makeNodeRsPasswordHasher(cost));

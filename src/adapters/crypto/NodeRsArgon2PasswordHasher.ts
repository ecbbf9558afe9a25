import { hash, type Options, verify } from "@node-rs/argon2";
import { Effect, Layer } from "effect";
import { PasswordHasher } from "../../application/ports/PasswordHasher.ts";
import type { HashCost } from "./BunPasswordHasher.ts";

/** `Algorithm.Argon2id`, a const enum that isolated modules cannot read. */
const argon2id = 2 as NonNullable<Options["algorithm"]>;

/**
 * argon2id through @node-rs/argon2 (Rust, off the event loop), for runtimes without
 * `Bun.password`. Both write PHC strings with the same parameters, so either verifies the
 * other's hashes: one user base can be served by Bun and Deno instances alike.
 */
export const makeNodeRsPasswordHasher = (cost: HashCost): PasswordHasher["Service"] => {
  const options: Options = {
    algorithm: argon2id,
    memoryCost: cost.memoryCost,
    timeCost: cost.timeCost,
    parallelism: 1,
  };
  // A real hash of a random password, so a login for an unknown user costs what a real one does.
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

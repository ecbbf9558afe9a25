import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { Effect, Layer } from "effect";
import { ClientSecrets } from "../../application/ports/ClientSecrets.ts";

const scheme = "sha256:";

const digest = (secret: string) => createHash("sha256").update(secret, "utf8").digest();

/**
 * SHA-256, not argon2id: the secret is 256 random bits, which no guessing gets near, and every
 * introspection call checks it, where a deliberately slow hash would be a lever for a flood
 * (decision 39).
 */
export const sha256ClientSecrets: ClientSecrets["Service"] = {
  generate: Effect.sync(() => randomBytes(32).toString("base64url")),
  hash: (secret) => `${scheme}${digest(secret).toString("base64url")}`,
  matches: (secret, hash) => {
    const given = digest(secret);
    if (!hash.startsWith(scheme)) return false;
    const wanted = Buffer.from(hash.slice(scheme.length), "base64url");
    return wanted.length === given.length && timingSafeEqual(given, wanted);
  },
};

export const Sha256ClientSecretsLayer = Layer.succeed(ClientSecrets, sha256ClientSecrets);

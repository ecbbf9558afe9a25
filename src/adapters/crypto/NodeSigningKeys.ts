import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  randomBytes,
  verify,
} from "node:crypto";
import { Effect, Layer } from "effect";
import { calculateJwkThumbprint } from "jose";
import { KeyGenerator } from "../../application/ports/KeyGenerator.ts";
import type {
  NewSigningKey,
  PublicJwk,
  SigningAlgorithm,
} from "../../domain/keys/SigningKeyEvents.ts";

const sealFormat = "v1";
const tagBytes = 16;

/** The AES-256-GCM key that seals private keys: HKDF-SHA256 of KEY_ENCRYPTION_KEY. */
export const sealingKey = (keyEncryptionKey: string): Buffer =>
  Buffer.from(
    hkdfSync(
      "sha256",
      Buffer.from(keyEncryptionKey, "utf8"),
      Buffer.alloc(0),
      "authlog signing keys",
      32,
    ),
  );

// Authenticated with the ciphertext: a sealed key copied into another key's event does not open.
const boundTo = (kid: string, alg: SigningAlgorithm) => Buffer.from(`${alg}:${kid}`);

/** `v1.<iv>.<ciphertext and tag>`, base64url; the plaintext is the PKCS#8 DER of the key. */
export const seal = (
  key: Buffer,
  kid: string,
  alg: SigningAlgorithm,
  privateKey: KeyObject,
): string => {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv).setAAD(boundTo(kid, alg));
  const plain = privateKey.export({ format: "der", type: "pkcs8" });
  const sealed = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  plain.fill(0);
  return [sealFormat, iv.toString("base64url"), sealed.toString("base64url")].join(".");
};

export class UnsealFailed extends Error {}

/** The private key, or UnsealFailed: another key-encryption key, or a damaged or moved seal. */
export const unseal = (
  key: Buffer,
  kid: string,
  alg: SigningAlgorithm,
  sealed: string,
): KeyObject => {
  const [format, iv = "", body = ""] = sealed.split(".");
  try {
    if (format !== sealFormat) throw new Error(`unknown seal format ${format}`);
    const bytes = Buffer.from(body, "base64url");
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"))
      .setAAD(boundTo(kid, alg))
      .setAuthTag(bytes.subarray(bytes.length - tagBytes));
    const plain = Buffer.concat([decipher.update(bytes.subarray(0, -tagBytes)), decipher.final()]);
    const opened = createPrivateKey({ key: plain, format: "der", type: "pkcs8" });
    plain.fill(0);
    return opened;
  } catch {
    throw new UnsealFailed(
      `KEY_ENCRYPTION_KEY does not open signing key ${kid}: it is not the key the ring was sealed with, or the seal is damaged`,
    );
  }
};

const publicJwkOf = (publicKey: KeyObject, alg: SigningAlgorithm): PublicJwk => {
  const { x = "", y = "" } = publicKey.export({ format: "jwk" });
  return alg === "ES256" ? { kty: "EC", crv: "P-256", x, y } : { kty: "OKP", crv: "Ed25519", x };
};

export const publicKeyOf = (jwk: PublicJwk): KeyObject =>
  createPublicKey({ key: { ...jwk }, format: "jwk" });

/** A JWS signature check on node:crypto, synchronous: it runs inside the token check. */
export const signatureCheck = (alg: SigningAlgorithm, publicKey: KeyObject) => {
  const options =
    alg === "ES256" ? { key: publicKey, dsaEncoding: "ieee-p1363" as const } : publicKey;
  const digest = alg === "ES256" ? "sha256" : null;
  return (input: string, signature: string): boolean => {
    const bytes = Buffer.from(signature, "base64url");
    // One encoding per signature: a second spelling of the same bytes is not another token.
    if (bytes.toString("base64url") !== signature) return false;
    try {
      return verify(digest, Buffer.from(input), options, bytes);
    } catch {
      return false;
    }
  };
};

/** The kid is the key's RFC 7638 thumbprint. */
export const makeKeyGenerator = (keyEncryptionKey: string): KeyGenerator["Service"] => {
  const key = sealingKey(keyEncryptionKey);
  return {
    generate: (alg) =>
      Effect.promise(async (): Promise<NewSigningKey> => {
        const pair =
          alg === "ES256"
            ? generateKeyPairSync("ec", { namedCurve: "P-256" })
            : generateKeyPairSync("ed25519");
        const publicJwk = publicJwkOf(pair.publicKey, alg);
        const kid = await calculateJwkThumbprint({ ...publicJwk }, "sha256");
        return { kid, alg, publicJwk, sealedPrivateKey: seal(key, kid, alg, pair.privateKey) };
      }),
  };
};

export const NodeKeyGeneratorLayer = (keyEncryptionKey: string) =>
  Layer.succeed(KeyGenerator, makeKeyGenerator(keyEncryptionKey));

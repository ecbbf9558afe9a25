export type SigningAlgorithm = "ES256" | "EdDSA";

/** The public half only; a JWKS entry adds kid, alg and use. */
export type PublicJwk =
  | { readonly kty: "EC"; readonly crv: "P-256"; readonly x: string; readonly y: string }
  | { readonly kty: "OKP"; readonly crv: "Ed25519"; readonly x: string };

/** A key pair made outside the domain: the private half sealed under the key-encryption key. */
export type NewSigningKey = {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly publicJwk: PublicJwk;
  readonly sealedPrivateKey: string;
};

export type SigningKeyCreated = {
  readonly type: "SigningKeyCreated";
  readonly data: NewSigningKey & { readonly createdAt: number };
};

export type SigningKeyActivated = {
  readonly type: "SigningKeyActivated";
  readonly data: { readonly kid: string; readonly activatedAt: number };
};

export type SigningKeyRetired = {
  readonly type: "SigningKeyRetired";
  readonly data: { readonly kid: string; readonly retiredAt: number };
};

export type SigningKeyRevoked = {
  readonly type: "SigningKeyRevoked";
  readonly data: { readonly kid: string; readonly reason: string; readonly revokedAt: number };
};

export type SigningKeyEvent =
  | SigningKeyCreated
  | SigningKeyActivated
  | SigningKeyRetired
  | SigningKeyRevoked;
/** One stream holds the whole ring, so every change is decided against all of it. */
export const keysStream = "keys";

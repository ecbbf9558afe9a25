import { createHmac } from "node:crypto";
import { hmacKeyId } from "../../src/adapters/crypto/HmacTokens.ts";

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** Builds a JWT by hand, so a test controls every byte an attacker controls. */
export const forge = (
  secret: string,
  header: Record<string, unknown>,
  payload: unknown,
  alg: "sha256" | "sha384" | "sha512" = "sha256",
) => {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(alg, secret).update(input).digest("base64url")}`;
};

export const decodePayload = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));

export const unsigned = (header: Record<string, unknown>, payload: unknown) =>
  `${b64(header)}.${b64(payload)}.`;

const now = () => Math.floor(Date.now() / 1000);

/**
 * The attacks on a genuine access token that protected routes must refuse: each row a name and
 * the token an attacker builds from its claims, read when the row runs.
 */
export const forgedAccessTokens = (
  secret: string,
  genuine: () => Record<string, unknown>,
): [string, () => string][] => {
  const header = { alg: "HS256", typ: "at+jwt", kid: hmacKeyId(secret) };
  return [
    ["alg none", () => unsigned({ alg: "none", typ: "at+jwt" }, genuine())],
    [
      "HS384 with the right secret",
      () => forge(secret, { ...header, alg: "HS384" }, genuine(), "sha384"),
    ],
    [
      "HS512 with the right secret",
      () => forge(secret, { ...header, alg: "HS512" }, genuine(), "sha512"),
    ],
    ["no exp", () => forge(secret, header, { ...genuine(), exp: undefined })],
    ["expired", () => forge(secret, header, { ...genuine(), exp: now() - 1 })],
    ["iat in the future", () => forge(secret, header, { ...genuine(), iat: now() + 3600 })],
    ["nbf in the future", () => forge(secret, header, { ...genuine(), nbf: now() + 3600 })],
    ["wrong issuer", () => forge(secret, header, { ...genuine(), iss: "someone-else" })],
    [
      "role raised to admin without the key",
      () => {
        const [h, , s] = forge(secret, header, genuine()).split(".");
        const body = Buffer.from(JSON.stringify({ ...genuine(), role: "admin" })).toString(
          "base64url",
        );
        return `${h}.${body}.${s}`;
      },
    ],
    [
      "an epoch from the future",
      () => forge(secret, header, { ...genuine(), epoch: (genuine().epoch as number) + 1 }),
    ],
    ["signed with another key", () => forge("x".repeat(48), header, genuine())],
    ["another kid", () => forge(secret, { ...header, kid: hmacKeyId("x".repeat(48)) }, genuine())],
    [
      "a jku header",
      () => forge(secret, { ...header, jku: "http://127.0.0.1:9/jwks.json" }, genuine()),
    ],
  ];
};

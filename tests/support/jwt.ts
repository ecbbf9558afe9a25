import { createHmac } from "node:crypto";

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

import { createHmac, timingSafeEqual } from "node:crypto";
import { Effect, Layer } from "effect";
import { LogSigner } from "../../application/ports/LogSigner.ts";

const algorithm = "HS256";

/** `HS256:<base64url HMAC-SHA256>` under the JWT secret. */
export const hmacLogSigner = (secret: string): LogSigner["Service"] => {
  const mac = (message: string) => createHmac("sha256", secret).update(message).digest();
  return LogSigner.of({
    sign: (message) => Effect.sync(() => `${algorithm}:${mac(message).toString("base64url")}`),
    verify: (message, signature) =>
      Effect.sync(() => {
        const [name, value = ""] = signature.split(":", 2);
        const given = Buffer.from(value, "base64url");
        const expected = mac(message);
        return (
          name === algorithm && given.length === expected.length && timingSafeEqual(given, expected)
        );
      }),
  });
};

export const HmacLogSignerLayer = (secret: string) =>
  Layer.succeed(LogSigner, hmacLogSigner(secret));

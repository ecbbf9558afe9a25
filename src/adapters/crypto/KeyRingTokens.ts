import type { KeyObject } from "node:crypto";
import { Effect, Layer } from "effect";
import { SignJWT } from "jose";
import { type RingView, SigningKeys } from "../../application/keys/SigningKeys.ts";
import { AuthSettings } from "../../application/ports/AuthSettings.ts";
import {
  type AccessClaims,
  type Examined,
  InvalidToken,
  Tokens,
} from "../../application/ports/Tokens.ts";
import { activeKey, verifiesUntil } from "../../domain/keys/KeyRing.ts";
import type { SigningAlgorithm } from "../../domain/keys/SigningKeyEvents.ts";
import { makeTokens, rememberedTokens } from "./HmacTokens.ts";
import {
  accessType,
  asAccessClaims,
  checkClaims,
  encodeHeader,
  fail,
  genuineClaims,
  maxTokenLength,
  segment,
} from "./jwt.ts";
import { publicKeyOf, sealingKey, signatureCheck, unseal } from "./NodeSigningKeys.ts";

export type KeyRingTokenConfig = {
  readonly issuer: string;
  /** Refresh tokens stay HS256 under this secret (decision 37). */
  readonly secret: string;
  readonly keyEncryptionKey: string;
  readonly accessTokenSeconds: number;
};

type Verifier = {
  readonly until: number;
  readonly check: (input: string, signature: string) => boolean;
};

type Signer =
  | { readonly kid: string; readonly alg: SigningAlgorithm; readonly key: KeyObject }
  | { readonly error: Error };

type Built = {
  readonly view: RingView;
  /** Keyed by the exact header each key signs with: the header pins key and algorithm. */
  readonly verifiers: ReadonlyMap<string, Verifier>;
  /** Every key of the ring, revoked ones too, by header: what `examine` recognises. */
  readonly made: ReadonlyMap<string, { readonly kid: string; readonly check: Verifier["check"] }>;
  readonly signer: Signer | undefined;
};

type Remembered = { readonly claims: AccessClaims; readonly verifier: Verifier };

/** A verified token is remembered until its exp, its key's end or a ring change (decision 38). */
export const makeKeyRingTokens = (
  config: KeyRingTokenConfig,
  current: () => RingView,
): Tokens["Service"] => {
  const hmac = makeTokens({ secret: config.secret, issuer: config.issuer });
  const sealing = sealingKey(config.keyEncryptionKey);
  const lifetimeMs = config.accessTokenSeconds * 1000;

  const build = (view: RingView): Built => {
    const verifiers = new Map<string, Verifier>();
    const made = new Map<string, { kid: string; check: Verifier["check"] }>();
    for (const key of view.ring.keys) {
      const header = encodeHeader({ alg: key.alg, typ: accessType, kid: key.kid });
      const check = signatureCheck(key.alg, publicKeyOf(key.publicJwk));
      made.set(header, { kid: key.kid, check });
      if (key.state === "revoked") continue;
      verifiers.set(header, { until: verifiesUntil(key, lifetimeMs), check });
    }
    const active = activeKey(view.ring);
    let signer: Signer | undefined;
    if (active) {
      try {
        signer = {
          kid: active.kid,
          alg: active.alg,
          key: unseal(sealing, active.kid, active.alg, active.sealedPrivateKey),
        };
      } catch (error) {
        signer = { error: error as Error };
      }
    }
    return { view, verifiers, made, signer };
  };

  let built = build(current());
  // Without a key this instance can open, it cannot sign: refuse to start rather than fail later.
  if (built.signer && "error" in built.signer) throw built.signer.error;
  const remembered = new Map<string, Remembered>();
  const latest = (): Built => {
    const view = current();
    if (view !== built.view) {
      built = build(view);
      remembered.clear();
    }
    return built;
  };

  const checkAccess = (token: string, nowMs: number): AccessClaims | InvalidToken => {
    if (token.length > maxTokenLength) return fail("too long");
    const { verifiers } = latest();
    const known = remembered.get(token);
    if (known !== undefined) {
      if (known.claims.exp <= Math.floor(nowMs / 1000)) {
        remembered.delete(token);
        return fail("expired");
      }
      return nowMs < known.verifier.until ? known.claims : fail("key no longer verifies");
    }
    const parts = token.split(".");
    if (parts.length !== 3) return fail("malformed");
    const [head, body, signature] = parts as [string, string, string];
    // Unknown, revoked or foreign kid, another alg, "none", jku, x5u, jwk: none of ours, refused.
    const verifier = verifiers.get(head);
    if (verifier === undefined) return fail("no such key or header");
    if (nowMs >= verifier.until) return fail("key no longer verifies");
    if (!segment.test(body) || !segment.test(signature)) return fail("malformed");
    if (!verifier.check(`${head}.${body}`, signature)) return fail("bad signature");
    const checked = checkClaims(body, config.issuer, nowMs);
    if (checked instanceof InvalidToken) return checked;
    const claims = asAccessClaims(Object.freeze(checked));
    if (claims instanceof InvalidToken) return claims;
    if (remembered.size >= rememberedTokens) {
      remembered.delete(remembered.keys().next().value ?? "");
    }
    remembered.set(token, { claims, verifier });
    return claims;
  };

  const examine = (token: string): Examined | null => {
    if (token.length > maxTokenLength) return null;
    const [head = "", body = "", signature = "", ...more] = token.split(".");
    const key = latest().made.get(head);
    // The secret signs refresh tokens only here: an HS256 access token is as foreign as any.
    if (key === undefined) {
      const refresh = hmac.examine(token);
      return refresh?.type === "refresh" ? refresh : null;
    }
    if (more.length > 0 || !segment.test(body) || !segment.test(signature)) return null;
    if (!key.check(`${head}.${body}`, signature)) return null;
    const claims = genuineClaims(body, config.issuer);
    return claims === null ? null : { type: "access", kid: key.kid, claims };
  };

  return {
    examine,
    signAccess: (claims) =>
      Effect.suspend(() => {
        const { signer } = latest();
        if (signer === undefined) return Effect.die(new Error("the key ring has no active key"));
        if ("error" in signer) return Effect.die(signer.error);
        return Effect.promise(() =>
          new SignJWT({ ...claims })
            .setProtectedHeader({ alg: signer.alg, typ: accessType, kid: signer.kid })
            .setIssuer(config.issuer)
            .sign(signer.key),
        );
      }),
    signRefresh: hmac.signRefresh,
    verifyRefresh: hmac.verifyRefresh,
    checkAccess,
    verifyAccess: (token, nowMs) => {
      const claims = checkAccess(token, nowMs);
      return claims instanceof InvalidToken ? Effect.fail(claims) : Effect.succeed(claims);
    },
  };
};

export const KeyRingTokensLayer = (config: Omit<KeyRingTokenConfig, "accessTokenSeconds">) =>
  Layer.effect(
    Tokens,
    Effect.gen(function* () {
      const keys = yield* SigningKeys;
      const { accessTokenSeconds } = yield* AuthSettings;
      return yield* Effect.try({
        try: () => makeKeyRingTokens({ ...config, accessTokenSeconds }, keys.current),
        catch: (error) => error,
      }).pipe(Effect.orDie);
    }),
  );

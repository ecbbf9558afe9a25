import { Clock, Effect } from "effect";
import {
  type KeyRing,
  type KeyState,
  verifiesUntil,
  verifyingKeys,
} from "../../domain/keys/KeyRing.ts";
import type { SigningAlgorithm } from "../../domain/keys/SigningKeyEvents.ts";
import { AuthSettings } from "../ports/AuthSettings.ts";
import { KeySettings, type TokenAlgorithm } from "../ports/KeySettings.ts";
import { loadKeyRing, SigningKeys } from "./SigningKeys.ts";

/** A key as an operator sees it: state and dates (epoch ms), never private material. */
export type KeyView = {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly state: KeyState;
  readonly createdAt: number;
  readonly activatedAt: number | null;
  readonly retiredAt: number | null;
  readonly revokedAt: number | null;
  readonly revocationReason: string | null;
  /** null while it has no end (next or active). */
  readonly verifiesUntil: number | null;
  /** In /.well-known/jwks.json now. */
  readonly published: boolean;
};

export type KeyListing = { readonly algorithm: TokenAlgorithm; readonly keys: readonly KeyView[] };

const tokenLifetimeMs = Effect.gen(function* () {
  return (yield* AuthSettings).accessTokenSeconds * 1000;
});

export const describeRing = (ring: KeyRing) =>
  Effect.gen(function* () {
    const { algorithm } = yield* KeySettings;
    const lifetimeMs = yield* tokenLifetimeMs;
    const now = yield* Clock.currentTimeMillis;
    const published = new Set(
      algorithm === "HS256" ? [] : verifyingKeys(ring, now, lifetimeMs).map((key) => key.kid),
    );
    const keys = ring.keys.map((key): KeyView => {
      const until = verifiesUntil(key, lifetimeMs);
      return {
        kid: key.kid,
        alg: key.alg,
        state: key.state,
        createdAt: key.createdAt,
        activatedAt: key.activatedAt,
        retiredAt: key.retiredAt,
        revokedAt: key.revokedAt,
        revocationReason: key.revocationReason,
        verifiesUntil: Number.isFinite(until) ? until : null,
        published: published.has(key.kid),
      };
    });
    return { algorithm, keys } satisfies KeyListing;
  });

/** Every key the log holds, oldest first; read from the log, not from this instance's copy. */
export const listKeys = Effect.fn("listKeys")(function* () {
  return yield* describeRing((yield* loadKeyRing).ring);
});

/** What /.well-known/jwks.json serves: the keys that verify now; none with HS256. */
export const publishedKeys = Effect.gen(function* () {
  if ((yield* KeySettings).algorithm === "HS256") return [];
  const { ring } = (yield* SigningKeys).current();
  return verifyingKeys(ring, yield* Clock.currentTimeMillis, yield* tokenLifetimeMs);
});

import { accept, type Decision, fold, reject } from "../Decision.ts";
import type { NewSigningKey, SigningAlgorithm, SigningKeyEvent } from "./SigningKeyEvents.ts";

export type KeyState = "next" | "active" | "retired" | "revoked";

export type SigningKey = NewSigningKey & {
  readonly state: KeyState;
  readonly createdAt: number;
  readonly activatedAt: number | null;
  readonly retiredAt: number | null;
  readonly revokedAt: number | null;
  readonly revocationReason: string | null;
};

export type KeyRing = { readonly keys: readonly SigningKey[] };

export const emptyKeyRing: KeyRing = { keys: [] };

const change = (ring: KeyRing, kid: string, to: (key: SigningKey) => SigningKey): KeyRing => ({
  keys: ring.keys.map((key) => (key.kid === kid ? to(key) : key)),
});

export const evolveKeyRing = (ring: KeyRing, event: SigningKeyEvent): KeyRing => {
  switch (event.type) {
    case "SigningKeyCreated": {
      const { createdAt, ...key } = event.data;
      const made: SigningKey = {
        ...key,
        state: "next",
        createdAt,
        activatedAt: null,
        retiredAt: null,
        revokedAt: null,
        revocationReason: null,
      };
      return { keys: [...ring.keys, made] };
    }
    case "SigningKeyActivated":
      return change(ring, event.data.kid, (key) => ({
        ...key,
        state: "active",
        activatedAt: event.data.activatedAt,
      }));
    case "SigningKeyRetired":
      return change(ring, event.data.kid, (key) => ({
        ...key,
        state: "retired",
        retiredAt: event.data.retiredAt,
      }));
    case "SigningKeyRevoked":
      return change(ring, event.data.kid, (key) => ({
        ...key,
        state: "revoked",
        revokedAt: event.data.revokedAt,
        revocationReason: event.data.reason,
      }));
  }
};

export const foldKeyRing = fold(evolveKeyRing, emptyKeyRing);

export class SigningKeyNotFound {
  readonly _tag = "SigningKeyNotFound";
}

/** Two keys made ahead: a command uses none, one or both. */
export type FreshKeys = readonly [NewSigningKey, NewSigningKey];

export type KeyRingCommand =
  | { readonly type: "EnsureKeys"; readonly now: number; readonly fresh: FreshKeys }
  | {
      readonly type: "RotateKeys";
      readonly now: number;
      readonly fresh: FreshKeys;
      /** A schedule's rotation: only if the active key has signed since this time or earlier. */
      readonly activeSince?: number;
    }
  | {
      readonly type: "RevokeKey";
      readonly kid: string;
      readonly reason: string;
      readonly now: number;
      readonly fresh: FreshKeys;
    };

const inState = (ring: KeyRing, state: KeyState) => ring.keys.find((key) => key.state === state);

export const activeKey = (ring: KeyRing): SigningKey | undefined => inState(ring, "active");

const created = (key: NewSigningKey, createdAt: number): SigningKeyEvent => ({
  type: "SigningKeyCreated",
  data: { ...key, createdAt },
});
const activated = (kid: string, activatedAt: number): SigningKeyEvent => ({
  type: "SigningKeyActivated",
  data: { kid, activatedAt },
});
const retired = (kid: string, retiredAt: number): SigningKeyEvent => ({
  type: "SigningKeyRetired",
  data: { kid, retiredAt },
});

/** The next key (or a fresh one, if it has another algorithm) signs; the active one retires. */
const rotation = (ring: KeyRing, now: number, [first, second]: FreshKeys): SigningKeyEvent[] => {
  const active = activeKey(ring);
  const next = inState(ring, "next");
  const promoted = next?.alg === first.alg ? next : undefined;
  const events: SigningKeyEvent[] = [];
  if (next && !promoted) events.push(retired(next.kid, now));
  if (!promoted) events.push(created(first, now));
  events.push(activated(promoted?.kid ?? first.kid, now));
  if (active) events.push(retired(active.kid, now));
  events.push(created(promoted ? first : second, now));
  return events;
};

/** The ring always ends with one active and one next key of the fresh keys' algorithm. */
export const decideKeyRing = (
  command: KeyRingCommand,
  ring: KeyRing,
): Decision<SigningKeyEvent, SigningKeyNotFound> => {
  const { now, fresh } = command;
  switch (command.type) {
    case "EnsureKeys": {
      const alg: SigningAlgorithm = fresh[0].alg;
      const active = activeKey(ring);
      const next = inState(ring, "next");
      if (active?.alg !== alg) return accept(...rotation(ring, now, fresh));
      if (next?.alg === alg) return accept();
      return accept(...(next ? [retired(next.kid, now)] : []), created(fresh[0], now));
    }
    case "RotateKeys": {
      const since = activeKey(ring)?.activatedAt;
      if (command.activeSince !== undefined && since != null && since > command.activeSince) {
        return accept();
      }
      return accept(...rotation(ring, now, fresh));
    }
    case "RevokeKey": {
      const key = ring.keys.find((candidate) => candidate.kid === command.kid);
      if (!key) return reject(new SigningKeyNotFound());
      const revoked: SigningKeyEvent = {
        type: "SigningKeyRevoked",
        data: { kid: key.kid, reason: command.reason, revokedAt: now },
      };
      switch (key.state) {
        case "revoked":
          return accept();
        case "retired":
          return accept(revoked);
        case "next":
          return accept(revoked, created(fresh[0], now));
        // The ring is never left without a signing key: the next one takes over first.
        case "active":
          return accept(...rotation(ring, now, fresh), revoked);
      }
    }
  }
};

/** An instance may learn of a rotation late, or run ahead: retired keys verify this much longer. */
export const retiredGraceMs = 30_000;

/** When the key stops verifying the tokens it signed; never while it is next or active. */
export const verifiesUntil = (key: SigningKey, tokenLifetimeMs: number): number => {
  const retiredEnd =
    key.retiredAt === null
      ? Number.POSITIVE_INFINITY
      : key.retiredAt + tokenLifetimeMs + retiredGraceMs;
  return Math.min(retiredEnd, key.revokedAt ?? Number.POSITIVE_INFINITY);
};

/**
 * What verifies at `now`, and is published: the next key (another instance may sign with it
 * already), the active one, and retired ones while their tokens live.
 */
export const verifyingKeys = (ring: KeyRing, now: number, tokenLifetimeMs: number) =>
  ring.keys.filter((key) => key.state !== "revoked" && now < verifiesUntil(key, tokenLifetimeMs));

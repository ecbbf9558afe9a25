import { describe, expect, test } from "bun:test";
import {
  decideKeyRing,
  evolveKeyRing,
  type FreshKeys,
  foldKeyRing,
  type KeyRingCommand,
  retiredGraceMs,
  verifiesUntil,
  verifyingKeys,
} from "../../src/domain/keys/KeyRing.ts";
import type {
  NewSigningKey,
  SigningAlgorithm,
  SigningKeyEvent,
} from "../../src/domain/keys/SigningKeyEvents.ts";
import { error, events } from "../support/decision.ts";

const key = (kid: string, alg: SigningAlgorithm = "ES256"): NewSigningKey => ({
  kid,
  alg,
  publicJwk:
    alg === "ES256"
      ? { kty: "EC", crv: "P-256", x: `x-${kid}`, y: `y-${kid}` }
      : { kty: "OKP", crv: "Ed25519", x: `x-${kid}` },
  sealedPrivateKey: `sealed-${kid}`,
});

const fresh = (a: string, b: string, alg: SigningAlgorithm = "ES256"): FreshKeys => [
  key(a, alg),
  key(b, alg),
];

const created = (kid: string, at: number, alg: SigningAlgorithm = "ES256"): SigningKeyEvent => ({
  type: "SigningKeyCreated",
  data: { ...key(kid, alg), createdAt: at },
});
const activated = (kid: string, at: number): SigningKeyEvent => ({
  type: "SigningKeyActivated",
  data: { kid, activatedAt: at },
});
const retired = (kid: string, at: number): SigningKeyEvent => ({
  type: "SigningKeyRetired",
  data: { kid, retiredAt: at },
});
const revoked = (kid: string, at: number, reason = "compromised"): SigningKeyEvent => ({
  type: "SigningKeyRevoked",
  data: { kid, reason, revokedAt: at },
});

const given = (...history: SigningKeyEvent[]) => ({
  when: (command: KeyRingCommand) => decideKeyRing(command, foldKeyRing(history)),
});

/** The ring a history and a decision lead to: kid -> state. */
const statesAfter = (history: SigningKeyEvent[], command: KeyRingCommand) => {
  const ring = events(given(...history).when(command)).reduce(evolveKeyRing, foldKeyRing(history));
  return Object.fromEntries(ring.keys.map((k) => [k.kid, k.state]));
};

/** k1 active, k2 next: what the first start leaves. */
const started = [created("k1", 1_000), activated("k1", 1_000), created("k2", 1_000)];

describe("the first start", () => {
  test("an empty ring gets an active key and a next key", () => {
    expect(
      events(given().when({ type: "EnsureKeys", now: 1_000, fresh: fresh("k1", "k2") })),
    ).toEqual(started);
  });

  test("a ring that has its keys is left alone: a second instance starting appends nothing", () => {
    expect(
      events(given(...started).when({ type: "EnsureKeys", now: 2_000, fresh: fresh("x", "y") })),
    ).toEqual([]);
  });

  test("a ring without a next key (it was revoked elsewhere) gets one", () => {
    const history = [...started, revoked("k2", 1_500)];
    expect(
      events(given(...history).when({ type: "EnsureKeys", now: 2_000, fresh: fresh("k3", "y") })),
    ).toEqual([created("k3", 2_000)]);
  });

  test("another ALGORITHM: its keys take over, the old active key retires and still verifies", () => {
    const command: KeyRingCommand = {
      type: "EnsureKeys",
      now: 2_000,
      fresh: fresh("e1", "e2", "EdDSA"),
    };
    expect(events(given(...started).when(command))).toEqual([
      retired("k2", 2_000),
      created("e1", 2_000, "EdDSA"),
      activated("e1", 2_000),
      retired("k1", 2_000),
      created("e2", 2_000, "EdDSA"),
    ]);
  });
});

describe("rotation", () => {
  const rotate = (now: number, activeSince?: number): KeyRingCommand => ({
    type: "RotateKeys",
    now,
    fresh: fresh("k3", "unused"),
    ...(activeSince === undefined ? {} : { activeSince }),
  });

  test("activates the published next key, retires the active one, publishes a new next key", () => {
    expect(events(given(...started).when(rotate(5_000)))).toEqual([
      activated("k2", 5_000),
      retired("k1", 5_000),
      created("k3", 5_000),
    ]);
    expect(statesAfter(started, rotate(5_000))).toEqual({
      k1: "retired",
      k2: "active",
      k3: "next",
    });
  });

  test("at most one key is active after any number of rotations", () => {
    let history = [...started];
    for (let i = 0; i < 5; i++) {
      const command: KeyRingCommand = {
        type: "RotateKeys",
        now: 10_000 + i,
        fresh: fresh(`r${i}`, `s${i}`),
      };
      history = [...history, ...events(given(...history).when(command))];
    }
    const ring = foldKeyRing(history);
    expect(ring.keys.filter((k) => k.state === "active")).toHaveLength(1);
    expect(ring.keys.filter((k) => k.state === "next")).toHaveLength(1);
  });

  test("a schedule's rotation happens once the active key is old enough, and only then", () => {
    expect(events(given(...started).when(rotate(5_000, 999)))).toEqual([]);
    expect(events(given(...started).when(rotate(5_000, 1_000)))).toHaveLength(3);
  });
});

describe("revocation", () => {
  const revoke = (kid: string, now = 6_000): KeyRingCommand => ({
    type: "RevokeKey",
    kid,
    reason: "compromised",
    now,
    fresh: fresh("k3", "k4"),
  });
  const rotatedOnce = [
    ...started,
    activated("k2", 5_000),
    retired("k1", 5_000),
    created("k3", 5_000),
  ];

  test("revoking the active key rotates first, so a key still signs", () => {
    expect(events(given(...started).when(revoke("k1")))).toEqual([
      activated("k2", 6_000),
      retired("k1", 6_000),
      created("k3", 6_000),
      revoked("k1", 6_000),
    ]);
  });

  test("a revoked next key is replaced by a new one", () => {
    expect(statesAfter(started, revoke("k2"))).toEqual({ k1: "active", k2: "revoked", k3: "next" });
  });

  test("a retired key is revoked alone", () => {
    expect(events(given(...rotatedOnce).when(revoke("k1")))).toEqual([revoked("k1", 6_000)]);
  });

  test("revoking a revoked key changes nothing; an unknown kid is refused", () => {
    const history = [...rotatedOnce, revoked("k1", 6_000)];
    expect(events(given(...history).when(revoke("k1", 7_000)))).toEqual([]);
    expect(error(given(...history).when(revoke("nope")))._tag).toBe("SigningKeyNotFound");
  });
});

describe("which keys verify", () => {
  const lifetime = 900_000;
  const rotatedAt = 5_000;
  const ring = foldKeyRing([
    ...started,
    activated("k2", rotatedAt),
    retired("k1", rotatedAt),
    created("k3", rotatedAt),
  ]);
  const kids = (now: number) => verifyingKeys(ring, now, lifetime).map((k) => k.kid);

  test("next, active, and a retired key until its last token expired (with the grace)", () => {
    const end = rotatedAt + lifetime + retiredGraceMs;
    expect(kids(end - 1)).toEqual(["k1", "k2", "k3"]);
    expect(kids(end)).toEqual(["k2", "k3"]);
  });

  test("a revoked key verifies nothing from its revocation on", () => {
    const revokedRing = evolveKeyRing(ring, revoked("k1", 6_000));
    expect(verifyingKeys(revokedRing, 6_000, lifetime).map((k) => k.kid)).toEqual(["k2", "k3"]);
    const [k1] = revokedRing.keys;
    expect(k1 && verifiesUntil(k1, lifetime)).toBe(6_000);
  });

  test("the next and active keys have no end", () => {
    expect(ring.keys.slice(1).map((k) => verifiesUntil(k, lifetime))).toEqual([
      Number.POSITIVE_INFINITY,
      Number.POSITIVE_INFINITY,
    ]);
  });
});

import { Cause, Clock, Effect, Exit, Layer, ManagedRuntime, Option } from "effect";
import { BunPasswordHasherLayer } from "../../src/adapters/crypto/BunPasswordHasher.ts";
import { HmacTokensLayer } from "../../src/adapters/crypto/HmacTokens.ts";
import { KeyRingTokensLayer } from "../../src/adapters/crypto/KeyRingTokens.ts";
import { NodeKeyGeneratorLayer } from "../../src/adapters/crypto/NodeSigningKeys.ts";
import { UuidIdsLayer } from "../../src/adapters/crypto/UuidIds.ts";
import { MemoryEventStoreLayer } from "../../src/adapters/embedded/EmbeddedEventStore.ts";
import { MemoryRateLimiterLayer } from "../../src/adapters/embedded/MemoryRateLimiter.ts";
import { MemoryTokenStateLayer } from "../../src/adapters/embedded/MemoryTokenState.ts";
import { Authenticator, AuthenticatorLive } from "../../src/application/Authenticator.ts";
import { bootstrapAdmin } from "../../src/application/bootstrap.ts";
import { ExplainerLive } from "../../src/application/Explainer.ts";
import { NoSigningKeys, SigningKeysLive } from "../../src/application/keys/SigningKeys.ts";
import { login } from "../../src/application/login.ts";
import { ProjectorLive } from "../../src/application/Projector.ts";
import { AuthSettings } from "../../src/application/ports/AuthSettings.ts";
import { EventStore, type Metadata } from "../../src/application/ports/EventStore.ts";
import { KeyGenerator } from "../../src/application/ports/KeyGenerator.ts";
import { KeySettings } from "../../src/application/ports/KeySettings.ts";
import { Limits } from "../../src/application/ports/Limits.ts";
import { RateLimiter } from "../../src/application/ports/RateLimiter.ts";
import { register } from "../../src/application/register.ts";
import type { TokenPair } from "../../src/application/sessions.ts";
import type { SigningAlgorithm } from "../../src/domain/keys/SigningKeyEvents.ts";

export const password = "correct horse battery";

/**
 * Wall-clock time plus an offset that `advance` moves: sleeps stay real (the conflict retries'
 * pauses are a few milliseconds), while windows of minutes pass without waiting.
 */
const steerableClock = () => {
  const live = Clock.Clock.defaultValue();
  let offsetMs = 0;
  const millis = () => live.currentTimeMillisUnsafe() + offsetMs;
  const nanos = () => live.currentTimeNanosUnsafe() + BigInt(offsetMs) * 1_000_000n;
  const monotonic = () => live.monotonicTimeNanosUnsafe() + BigInt(offsetMs) * 1_000_000n;
  const clock: Clock.Clock = {
    currentTimeMillisUnsafe: millis,
    currentTimeMillis: Effect.sync(millis),
    currentTimeNanosUnsafe: nanos,
    currentTimeNanos: Effect.sync(nanos),
    monotonicTimeNanosUnsafe: monotonic,
    monotonicTimeNanos: Effect.sync(monotonic),
    sleep: (duration) => live.sleep(duration),
  };
  return {
    clock,
    now: millis,
    advance: (ms: number) => {
      offsetMs += ms;
    },
  };
};

export type TestOptions = {
  readonly limits?: Partial<Limits["Service"]>;
  readonly auth?: Partial<AuthSettings["Service"]>;
  /** Access tokens signed by a key ring, followed every `pollMs` (default 50). */
  readonly keys?: {
    readonly algorithm: SigningAlgorithm;
    readonly rotationMs?: number;
    readonly pollMs?: number;
  };
};

const secret = "application-test-secret-0123456789abcdef";
const keyEncryptionKey = "application-test-key-encryption-key-0123";

/** HS256 under the secret, or the key ring as the composition wires it. */
const signing = (keys: TestOptions["keys"]) => {
  if (keys === undefined) {
    return Layer.mergeAll(
      HmacTokensLayer({ secret, issuer: "authlog" }),
      NoSigningKeys,
      Layer.succeed(KeySettings, { algorithm: "HS256", rotationMs: 0 }),
      Layer.succeed(KeyGenerator, { generate: () => Effect.die(new Error("HS256")) }),
    );
  }
  const settings = Layer.succeed(KeySettings, {
    algorithm: keys.algorithm,
    rotationMs: keys.rotationMs ?? 0,
  });
  const ring = SigningKeysLive({ pollMs: keys.pollMs ?? 50 }).pipe(
    Layer.provideMerge(Layer.merge(NodeKeyGeneratorLayer(keyEncryptionKey), settings)),
  );
  return KeyRingTokensLayer({ secret, issuer: "authlog", keyEncryptionKey }).pipe(
    Layer.provideMerge(ring),
  );
};

/**
 * The SQLite store answers synchronously, so concurrent use cases would run one after another
 * and never race. Yielding after every read lets the others load the same version before any
 * appends, as they would over a network; `conflicts` counts the appends that lost the race.
 */
const interleaved = (store: EventStore["Service"]) => {
  let conflicts = 0;
  const reads = new Map<string, number>();
  const counted = <A, E extends { readonly _tag: string }, R>(append: Effect.Effect<A, E, R>) =>
    append.pipe(
      Effect.tapError((error) =>
        Effect.sync(() => {
          if (error._tag === "VersionConflict") conflicts++;
        }),
      ),
    );
  const yielding = <A, E, R>(read: Effect.Effect<A, E, R>) =>
    Effect.tap(read, () => Effect.yieldNow);
  const wrapped: EventStore["Service"] = {
    ...store,
    readStream: (streamId) => {
      reads.set(streamId, (reads.get(streamId) ?? 0) + 1);
      return yielding(store.readStream(streamId));
    },
    readStreams: (streamIds, filter) => yielding(store.readStreams(streamIds, filter)),
    findClaim: (key) => yielding(store.findClaim(key)),
    append: (streamId, events, options) => counted(store.append(streamId, events, options)),
    appendMany: (appends, metadata) => counted(store.appendMany(appends, metadata)),
  };
  return { store: wrapped, conflicts: () => conflicts, reads: (id: string) => reads.get(id) ?? 0 };
};

/**
 * Every service the use cases need, in memory: a SQLite `:memory:` event store, the memory
 * token state and limiter, real HS256 tokens, argon2id at its lowest cost, and the projector.
 * One runtime per test, so nothing leaks from one test into the next.
 */
export const makeTestApp = (options: TestOptions = {}) => {
  const time = steerableClock();
  const clock = Layer.succeed(Clock.Clock, time.clock);
  let conflicts = () => 0;
  let reads = (_: string) => 0;
  const store = Layer.effect(
    EventStore,
    Effect.gen(function* () {
      const wrapped = interleaved(yield* EventStore);
      conflicts = wrapped.conflicts;
      reads = wrapped.reads;
      return wrapped.store;
    }),
  ).pipe(Layer.provide(MemoryEventStoreLayer));
  // Every key a take was asked for, in order: what an attempt touched, refused or not.
  const takes: string[] = [];
  const limiter = Layer.effect(
    RateLimiter,
    Effect.gen(function* () {
      const real = yield* RateLimiter;
      return {
        ...real,
        take: (key: string, max: number, windowMs: number) =>
          Effect.andThen(
            Effect.sync(() => takes.push(key)),
            real.take(key, max, windowMs),
          ),
      };
    }),
  ).pipe(Layer.provide(MemoryRateLimiterLayer));
  const base = Layer.mergeAll(
    store,
    MemoryTokenStateLayer,
    limiter,
    UuidIdsLayer,
    BunPasswordHasherLayer({ memoryCost: 8, timeCost: 1 }),
    Layer.succeed(AuthSettings, {
      accessTokenSeconds: 900,
      refreshTokenSeconds: 7 * 86_400,
      refreshGraceMs: 10_000,
      ...options.auth,
    }),
    Layer.succeed(Limits, {
      loginMaxFailuresPerUser: 5,
      loginMaxFailuresPerIp: 100,
      loginLockoutMs: 900_000,
      registerPerIpPerHour: 0,
      ...options.limits,
    }),
  );
  // The inline projection does the work under test: the catch-up loop only polls once a minute.
  const layer = AuthenticatorLive.pipe(
    Layer.provideMerge(ExplainerLive()),
    Layer.provideMerge(ProjectorLive({ pollMs: 60_000 })),
    Layer.provideMerge(signing(options.keys)),
    Layer.provideMerge(base),
    Layer.provideMerge(clock),
  );
  const runtime = ManagedRuntime.make(layer);
  type Services = ManagedRuntime.ManagedRuntime.Services<typeof runtime>;
  const run = <A, E>(effect: Effect.Effect<A, E, Services>) => runtime.runPromiseExit(effect);
  /** The value, or a thrown error naming the cause: for the steps a test builds upon. */
  const ok = <A, E>(effect: Effect.Effect<A, E, Services>) => runtime.runPromise(effect);
  return {
    runtime,
    run,
    ok,
    advance: time.advance,
    now: time.now,
    /** The limiter keys takes were asked for so far, in order. */
    takes: (): readonly string[] => [...takes],
    /** Appends that lost a race for a stream version so far. */
    conflicts: () => conflicts(),
    /** Reads of one stream so far. */
    reads: (streamId: string) => reads(streamId),
  };
};

export type TestApp = ReturnType<typeof makeTestApp>;

/** The runtimes a test file built; `disposeAll` in `afterEach` closes them. */
export const testApps = () => {
  const open: TestApp[] = [];
  return {
    make: (options?: TestOptions) => {
      const app = makeTestApp(options);
      open.push(app);
      return app;
    },
    disposeAll: async () => {
      await Promise.all(open.splice(0).map((app) => app.runtime.dispose()));
    },
  };
};

/** The tag of the expected error an exit failed with; "success" or "defect" otherwise. */
export const outcome = <A, E extends { readonly _tag: string }>(exit: Exit.Exit<A, E>) => {
  if (Exit.isSuccess(exit)) return "success";
  const error = Cause.findErrorOption(exit.cause);
  return Option.isSome(error) ? error.value._tag : "defect";
};

/** The expected error an exit failed with; throws when it succeeded or died. */
export const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure, got a success");
  const error = Cause.findErrorOption(exit.cause);
  if (Option.isNone(error)) throw new Error(`expected a failure: ${Cause.pretty(exit.cause)}`);
  return error.value;
};

/** Signs up `username` (always role `user`) and returns its id. */
export const registerUser = (app: TestApp, username: string) =>
  app.ok(register({ username, password }, {})).then((user) => user.id);

/** Logs `username` in and returns the pair with the principal its access token stands for. */
export const loginAs = async (app: TestApp, username: string, metadata: Metadata = {}) => {
  const pair = await app.ok(login({ username, password }, metadata));
  return { pair, principal: await app.ok(authenticated(pair.accessToken)) };
};

/** Creates an admin the way the service does at start (ADMIN_USERNAME) and returns its id. */
export const createAdmin = async (app: TestApp, username: string) => {
  await app.ok(bootstrapAdmin({ username, password }));
  return (await loginAs(app, username)).principal.sub;
};

/** What the HTTP guard asks: the claims of a live access token, or why it is refused. */
export const authenticated = (accessToken: string) =>
  Effect.gen(function* () {
    return yield* (yield* Authenticator).authenticate(accessToken);
  });

/** The exit of authenticating each token, as `outcome` tags. */
export const authenticateAll = (app: TestApp, pairs: readonly TokenPair[]) =>
  Promise.all(pairs.map((pair) => app.run(authenticated(pair.accessToken)).then(outcome)));

/** A stream's events as the log holds them. */
export const streamOf = (app: TestApp, streamId: string) =>
  app.ok(
    Effect.gen(function* () {
      return yield* (yield* EventStore).readStream(streamId);
    }),
  );

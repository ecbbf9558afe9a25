import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from "node:crypto";
import { Context, Effect, Layer } from "effect";
import { DataKeys, type StoredKey } from "../../application/ports/DataKeys.ts";
import {
  type EventData,
  EventStore,
  type Metadata,
  type NewEvent,
  type PlainFields,
  type RecordedEvent,
  type StoredEvent,
} from "../../application/ports/EventStore.ts";
import { PersonalFields } from "../../application/ports/PersonalFields.ts";
import { userIdOf } from "../../domain/user/UserEvents.ts";

/** What the audit trail and every reader see in place of a field whose key is destroyed. */
export const erasedValue = "[erased]";

/** Top-level string fields that name or locate a person, in event data and in metadata. */
const dataFields = ["username", "ip", "userAgent"] as const;
const metadataFields = ["clientIp", "userAgent"] as const;

/** `pii:v1:<subject>:<iv>.<ciphertext and tag>`, base64url, the subject bound as AAD. */
const prefix = "pii:v1:";

export const personalFields: PlainFields = {
  data: dataFields,
  metadata: metadataFields,
  sealedPrefix: prefix,
};

const tagBytes = 16;

const derive = (secret: string, purpose: string) =>
  Buffer.from(hkdfSync("sha256", Buffer.from(secret, "utf8"), Buffer.alloc(0), purpose, 32));

const plainClaim = "username:";
const hashedClaim = "username-hmac:";

/** Username claims hold a keyed hash of the name: the plain name never reaches the store. */
const hashedUsername = (claimKey: Buffer, key: string) =>
  hashedClaim +
  createHmac("sha256", claimKey).update(key.slice(plainClaim.length)).digest("base64url");

export type PersonalDataSecrets = {
  /** Keys the username claims (JWT_SECRET). */
  readonly claimSecret: string;
  /** Wraps the data keys where they are stored, when set (KEY_ENCRYPTION_KEY). */
  readonly keyEncryptionKey?: string | undefined;
};

const gcm = (key: Uint8Array, aad: string, plain: Buffer) => {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv).setAAD(Buffer.from(aad));
  return Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
};

const ungcm = (key: Uint8Array, aad: string, sealed: Buffer) => {
  const decipher = createDecipheriv("aes-256-gcm", key, sealed.subarray(0, 12))
    .setAAD(Buffer.from(aad))
    .setAuthTag(sealed.subarray(sealed.length - tagBytes));
  return Buffer.concat([decipher.update(sealed.subarray(12, -tagBytes)), decipher.final()]);
};

/** Stored keys start with a format byte: 0 as is, 1 wrapped under KEY_ENCRYPTION_KEY. */
const keyWrapping = (keyEncryptionKey: string | undefined) => {
  const kek = keyEncryptionKey && derive(keyEncryptionKey, "authlog data keys");
  return {
    wrap: (subject: string, key: Buffer): Uint8Array =>
      kek
        ? Buffer.concat([Buffer.of(1), gcm(kek, subject, key)])
        : Buffer.concat([Buffer.of(0), key]),
    unwrap: (subject: string, stored: Uint8Array): Buffer => {
      const bytes = Buffer.from(stored);
      if (bytes[0] === 0) return bytes.subarray(1);
      if (!kek) throw new Error("the data keys are wrapped: KEY_ENCRYPTION_KEY is needed");
      return ungcm(kek, subject, bytes.subarray(1));
    },
  };
};

type Fields = Record<string, unknown>;

const isRecord = (value: unknown): value is Fields =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const holdsAny = (fields: unknown, names: readonly string[]) =>
  isRecord(fields) && names.some((name) => typeof fields[name] === "string");

const sealedSubject = (value: unknown): string | null => {
  if (typeof value !== "string" || !value.startsWith(prefix)) return null;
  const end = value.indexOf(":", prefix.length);
  return end < 0 ? null : value.slice(prefix.length, end);
};

/** The subjects whose keys open the sealed fields of these events. */
const subjectsIn = (events: readonly { data: unknown; metadata?: unknown }[]) => {
  const subjects = new Set<string>();
  for (const event of events) {
    for (const fields of [event.data, event.metadata]) {
      if (!isRecord(fields)) continue;
      for (const value of Object.values(fields)) {
        const subject = sealedSubject(value);
        if (subject !== null) subjects.add(subject);
      }
    }
  }
  return [...subjects];
};

/**
 * Wraps an event store: personal fields are sealed under their owner's data key on the way in
 * and opened on the way out, or read as `[erased]` once the key is destroyed. The hash chains
 * are computed by the store over what it stores, the ciphertext, so they never change.
 */
export const protectPersonalData = (
  store: EventStore["Service"],
  keys: DataKeys["Service"],
  secrets: PersonalDataSecrets,
) => {
  const claimKey = derive(secrets.claimSecret, "authlog username claims");
  const wrapping = keyWrapping(secrets.keyEncryptionKey);

  const hashClaim = (key: string) =>
    key.startsWith(plainClaim) ? hashedUsername(claimKey, key) : key;

  const opened = (stored: ReadonlyMap<string, StoredKey>) => {
    const cache = new Map<string, Buffer | null>();
    return (subject: string) => {
      if (!cache.has(subject)) {
        const key = stored.get(subject) ?? null;
        cache.set(subject, key === null ? null : wrapping.unwrap(subject, key));
      }
      return cache.get(subject) ?? null;
    };
  };

  const seal = (
    fields: Fields,
    names: readonly string[],
    subject: string | null,
    key: (s: string) => Buffer | null,
    keepSealed = false,
  ) => {
    const out: Fields = { ...fields };
    for (const name of names) {
      const value = out[name];
      if (typeof value !== "string" || (keepSealed && value.startsWith(prefix))) continue;
      const dataKey = subject === null ? null : key(subject);
      if (subject === null || dataKey === null) {
        // Nobody to erase it for: it is not kept.
        delete out[name];
        continue;
      }
      const sealed = gcm(dataKey, subject, Buffer.from(value, "utf8")).toString("base64url");
      out[name] = `${prefix}${subject}:${sealed}`;
    }
    return out;
  };

  const open = (fields: unknown, key: (s: string) => Buffer | null): unknown => {
    if (!isRecord(fields)) return fields;
    let out: Fields | null = null;
    for (const [name, value] of Object.entries(fields)) {
      const subject = sealedSubject(value);
      if (subject === null) continue;
      const dataKey = key(subject);
      out ??= { ...fields };
      if (dataKey === null) {
        out[name] = erasedValue;
        continue;
      }
      const body = (value as string).slice(prefix.length + subject.length + 1);
      try {
        out[name] = ungcm(dataKey, subject, Buffer.from(body, "base64url")).toString("utf8");
      } catch {
        out[name] = erasedValue;
      }
    }
    return out ?? fields;
  };

  const dataOwner = (streamId: string, data: unknown, metadata: Metadata) => {
    const userId = isRecord(data) ? data.userId : undefined;
    return typeof userId === "string" ? userId : (userIdOf(streamId) ?? metadata.actor ?? null);
  };

  const keyFor = (subjects: readonly (string | null)[]) => {
    const wanted = subjects.filter((s): s is string => s !== null);
    return Effect.map(
      wanted.length === 0
        ? Effect.succeed(new Map<string, StoredKey>())
        : keys.keysOf(wanted, (subject) => wrapping.wrap(subject, randomBytes(32))),
      opened,
    );
  };

  /** Events stored before sealing, sealed as they would be written now. */
  const sealStored = (events: readonly StoredEvent[]) =>
    Effect.gen(function* () {
      const plain = (fields: unknown, names: readonly string[]) =>
        isRecord(fields) &&
        names.some((name) => {
          const value = fields[name];
          return typeof value === "string" && !value.startsWith(prefix);
        });
      const owners = events.map((event) => dataOwner(event.streamId, event.data, event.metadata));
      const key = yield* keyFor([
        ...owners.filter((_, i) => plain(events[i]?.data, dataFields)),
        ...events
          .filter((event) => plain(event.metadata, metadataFields))
          .map((event) => event.metadata.actor ?? null),
      ]);
      return events.flatMap((event, i) => {
        const dataPlain = plain(event.data, dataFields);
        const metadataPlain = plain(event.metadata, metadataFields);
        if (!dataPlain && !metadataPlain) return [];
        const data =
          dataPlain && isRecord(event.data)
            ? seal(event.data, dataFields, owners[i] ?? null, key, true)
            : event.data;
        const metadata = metadataPlain
          ? (seal(
              event.metadata,
              metadataFields,
              event.metadata.actor ?? null,
              key,
              true,
            ) as Metadata)
          : event.metadata;
        return [{ event, data, metadata }];
      });
    });

  const sealAppend = (
    appends: readonly { streamId: string; events: readonly NewEvent[] }[],
    metadata: Metadata,
  ) =>
    Effect.gen(function* () {
      const owners = appends.flatMap(({ streamId, events }) =>
        events.map((event) => dataOwner(streamId, event.data, metadata)),
      );
      const events = appends.flatMap((entry) => entry.events);
      const key = yield* keyFor([
        ...owners.filter((_, i) => holdsAny(events[i]?.data, dataFields)),
        ...(holdsAny(metadata, metadataFields) ? [metadata.actor ?? null] : []),
      ]);
      const sealedMetadata = seal(
        metadata as Fields,
        metadataFields,
        metadata.actor ?? null,
        key,
      ) as Metadata;
      let i = 0;
      const sealed = appends.map(({ events }) =>
        events.map((event) => {
          const owner = owners[i++] ?? null;
          return isRecord(event.data)
            ? { ...event, data: seal(event.data, dataFields, owner, key) }
            : event;
        }),
      );
      return { sealed, metadata: sealedMetadata };
    });

  /** Callers get back what they appended, in plain. */
  const asGiven = (
    recorded: readonly RecordedEvent[],
    events: readonly NewEvent[],
    metadata: Metadata,
  ) => recorded.map((event, i) => ({ ...event, data: events[i]?.data ?? event.data, metadata }));

  const openAll = <A extends { readonly data: unknown; readonly metadata?: Metadata }>(
    events: readonly A[],
  ) =>
    Effect.gen(function* () {
      const subjects = subjectsIn(events);
      if (subjects.length === 0) return events;
      const key = opened(yield* keys.keysOf(subjects));
      return events.map((event) => ({
        ...event,
        data: open(event.data, key),
        ...(event.metadata === undefined
          ? {}
          : { metadata: open(event.metadata, key) as Metadata }),
      }));
    });

  return {
    sealStored,
    store: {
      ...store,
      append: (streamId, events, options) =>
        Effect.gen(function* () {
          const metadata = options.metadata ?? {};
          const { sealed, metadata: stored } = yield* sealAppend([{ streamId, events }], metadata);
          const result = yield* store.append(streamId, sealed[0] ?? [], {
            ...options,
            metadata: stored,
            ...(options.claims ? { claims: options.claims.map(hashClaim) } : {}),
          });
          return { ...result, events: asGiven(result.events, events, metadata) };
        }),
      appendMany: (appends, metadata = {}) =>
        Effect.gen(function* () {
          const { sealed, metadata: stored } = yield* sealAppend(appends, metadata);
          const results = yield* store.appendMany(
            appends.map((entry, i) => ({
              ...entry,
              events: sealed[i] ?? [],
              ...(entry.claims ? { claims: entry.claims.map(hashClaim) } : {}),
            })),
            stored,
          );
          return results.map((result, i) => ({
            ...result,
            events: asGiven(result.events, appends[i]?.events ?? [], metadata),
          }));
        }),
      readStream: (streamId) => Effect.flatMap(store.readStream(streamId), openAll),
      readStreams: (streamIds, filter) =>
        Effect.flatMap(store.readStreams(streamIds, filter), openAll),
      readAll: (after, limit, filter) =>
        Effect.flatMap(store.readAll(after, limit, filter), (page) =>
          Effect.map(openAll(page.events), (events) => ({ ...page, events })),
        ),
      readData: (after, limit, filter) =>
        Effect.flatMap(store.readData(after, limit, filter), (page) =>
          Effect.map(openAll<EventData>(page.events), (events) => ({ ...page, events })),
        ),
      scan: (filter, onBatch) =>
        store.scan(filter, (events) => Effect.flatMap(openAll<EventData>(events), onBatch)),
      lastOf: (streamId) =>
        Effect.flatMap(store.lastOf(streamId), (event) =>
          event === null ? Effect.succeed(null) : Effect.map(openAll([event]), ([e]) => e ?? null),
        ),
      findClaim: (key) => store.findClaim(hashClaim(key)),
    } satisfies EventStore["Service"],
  };
};

/**
 * The event store as every use case sees it. On start, username claims written before they
 * were hashed are re-keyed, once (the events keep their plain fields: docs/operations.md).
 */
export const PersonalDataLayer = (secrets: PersonalDataSecrets) =>
  Layer.effectContext(
    Effect.gen(function* () {
      const store = yield* EventStore;
      const keys = yield* DataKeys;
      yield* rekeyClaims(keys, secrets);
      return Context.make(EventStore, protectPersonalData(store, keys, secrets).store).pipe(
        Context.add(DataKeys, keys),
      );
    }),
  );

const rekeyClaims = (keys: DataKeys["Service"], secrets: PersonalDataSecrets) => {
  const claimKey = derive(secrets.claimSecret, "authlog username claims");
  return keys.renameClaims(plainClaim, (key) => hashedUsername(claimKey, key));
};

/** For the one-time upgrade of events written before sealing (docs/operations.md). */
export const PersonalFieldsLayer = (secrets: PersonalDataSecrets) =>
  Layer.effect(
    PersonalFields,
    Effect.gen(function* () {
      const store = yield* EventStore;
      const keys = yield* DataKeys;
      yield* rekeyClaims(keys, secrets);
      const { sealStored } = protectPersonalData(store, keys, secrets);
      return PersonalFields.of({ fields: personalFields, seal: sealStored });
    }),
  );

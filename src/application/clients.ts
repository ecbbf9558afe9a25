import { Effect } from "effect";
import { type ClientEvent, clientsStream } from "../domain/client/ClientEvents.ts";
import {
  type ClientRegistry,
  clientNameRule,
  decideClients,
  foldClients,
  isValidClientName,
} from "../domain/client/ClientRegistry.ts";
import { ClientNotFound, InvalidClient, ValidationFailed } from "./errors.ts";
import { appendAndProject, decideAndAppend, type Loaded, retryOnConflict } from "./events.ts";
import { ClientSecrets } from "./ports/ClientSecrets.ts";
import { EventStore, type Metadata } from "./ports/EventStore.ts";
import { Ids } from "./ports/Ids.ts";

export type ClientView = {
  readonly id: string;
  readonly name: string;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
};

export type CreatedClient = ClientView & { readonly secret: string };

export type ClientCredentials = { readonly id: string; readonly secret: string };

const loadClients = Effect.gen(function* () {
  const records = yield* (yield* EventStore).readStream(clientsStream);
  const state = foldClients(records.map((r) => ({ type: r.type, data: r.data }) as ClientEvent));
  return { state, version: records.length, records } satisfies Loaded<ClientRegistry>;
});

/** A new client; its secret is in this answer and nowhere else, ever. */
export const createClient = Effect.fn("createClient")(function* (name: string, metadata: Metadata) {
  if (!isValidClientName(name)) {
    return yield* new ValidationFailed({ fields: [{ name: "name", rule: clientNameRule }] });
  }
  const secrets = yield* ClientSecrets;
  const clientId = yield* (yield* Ids).next;
  const secret = yield* secrets.generate;
  const secretHash = secrets.hash(secret);
  const recorded = yield* retryOnConflict(
    Effect.gen(function* () {
      const loaded = yield* loadClients;
      const decision = decideClients(
        { type: "RegisterClient", clientId, name, secretHash },
        loaded.state,
      );
      if (!decision.ok) return yield* Effect.die(decision.error);
      return yield* appendAndProject(clientsStream, decision.events, {
        expectedVersion: loaded.version,
        metadata,
      });
    }),
  ).pipe(Effect.catchTag("ClaimTaken", (e) => Effect.die(e)));
  const createdAt = recorded?.events[0]?.recordedAt ?? new Date();
  return { id: clientId, name, secret, createdAt, revokedAt: null } satisfies CreatedClient;
});

/** Every client, revoked ones too, in the order they were made. */
export const listClients = Effect.gen(function* () {
  const { state, records } = yield* loadClients;
  const times = new Map<string, { created?: Date; revoked?: Date }>();
  for (const record of records) {
    const { clientId } = record.data as ClientEvent["data"];
    const seen = times.get(clientId) ?? {};
    if (record.type === "ClientRegistered") seen.created = record.recordedAt;
    else seen.revoked ??= record.recordedAt;
    times.set(clientId, seen);
  }
  return [...state.values()].map(
    (client): ClientView => ({
      id: client.id,
      name: client.name,
      createdAt: times.get(client.id)?.created ?? new Date(0),
      revokedAt: client.revoked ? (times.get(client.id)?.revoked ?? null) : null,
    }),
  );
});

/** From the next call on, on every instance, the client's credentials are refused. Idempotent. */
export const revokeClient = Effect.fn("revokeClient")(function* (
  clientId: string,
  metadata: Metadata,
) {
  const { decision } = yield* decideAndAppend(
    loadClients,
    clientsStream,
    (registry) => decideClients({ type: "RevokeClient", clientId }, registry),
    { metadata },
  ).pipe(Effect.catchTag("ClaimTaken", (e) => Effect.die(e)));
  if (!decision.ok) return yield* new ClientNotFound();
});

/**
 * The client, read from the log on every call, so that a revocation holds at once everywhere.
 * An unknown id costs the same hash as a known one.
 */
export const authenticateClient = Effect.fn("authenticateClient")(function* (
  credentials: ClientCredentials,
) {
  const secrets = yield* ClientSecrets;
  const { state } = yield* loadClients;
  const client = state.get(credentials.id);
  const matches = secrets.matches(credentials.secret, client?.secretHash ?? "");
  if (client === undefined || client.revoked || !matches) return yield* new InvalidClient();
  return client.id;
});

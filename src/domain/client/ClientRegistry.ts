import { accept, type Decision, reject } from "../Decision.ts";
import {
  ClientAlreadyRegistered,
  type ClientError,
  ClientNotFound,
  InvalidClientName,
} from "./ClientErrors.ts";
import type { ClientEvent } from "./ClientEvents.ts";

export type Client = {
  readonly id: string;
  readonly name: string;
  readonly secretHash: string;
  readonly revoked: boolean;
};

/** Clients by id, in the order they were registered. */
export type ClientRegistry = ReadonlyMap<string, Client>;

// Printable, no control characters: a name ends up in terminals and log lines.
const namePattern = /^[^\p{Cc}]{1,64}$/u;

export const clientNameRule = "1 to 64 characters, no control characters, no space at either end";

export const isValidClientName = (name: string): boolean =>
  namePattern.test(name) && name.trim() === name;

export const foldClients = (events: Iterable<ClientEvent>): ClientRegistry => {
  const clients = new Map<string, Client>();
  for (const event of events) {
    const { clientId } = event.data;
    if (event.type === "ClientRegistered") {
      const { name, secretHash } = event.data;
      clients.set(clientId, { id: clientId, name, secretHash, revoked: false });
      continue;
    }
    const client = clients.get(clientId);
    if (client) clients.set(clientId, { ...client, revoked: true });
  }
  return clients;
};

export type ClientCommand =
  | {
      readonly type: "RegisterClient";
      readonly clientId: string;
      readonly name: string;
      readonly secretHash: string;
    }
  | { readonly type: "RevokeClient"; readonly clientId: string };

export const decideClients = (
  command: ClientCommand,
  registry: ClientRegistry,
): Decision<ClientEvent, ClientError> => {
  const existing = registry.get(command.clientId);
  if (command.type === "RegisterClient") {
    if (existing) return reject(new ClientAlreadyRegistered());
    if (!isValidClientName(command.name)) return reject(new InvalidClientName());
    const { clientId, name, secretHash } = command;
    return accept({ type: "ClientRegistered", data: { clientId, name, secretHash } });
  }
  if (!existing) return reject(new ClientNotFound());
  if (existing.revoked) return accept();
  return accept({ type: "ClientRevoked", data: { clientId: command.clientId } });
};

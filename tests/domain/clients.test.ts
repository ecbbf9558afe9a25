import { describe, expect, test } from "bun:test";
import type { ClientEvent } from "../../src/domain/client/ClientEvents.ts";
import {
  type ClientCommand,
  decideClients,
  foldClients,
} from "../../src/domain/client/ClientRegistry.ts";
import { error, events } from "../support/decision.ts";

const given = (...history: ClientEvent[]) => ({
  when: (command: ClientCommand) => decideClients(command, foldClients(history)),
});

const registered: ClientEvent = {
  type: "ClientRegistered",
  data: { clientId: "c1", name: "reports", secretHash: "sha256:abc" },
};
const revoked: ClientEvent = { type: "ClientRevoked", data: { clientId: "c1" } };

const register = (name: string, clientId = "c2"): ClientCommand => ({
  type: "RegisterClient",
  clientId,
  name,
  secretHash: "sha256:def",
});

describe("the client registry", () => {
  test("registering records the name and the hash, never anything else", () => {
    expect(events(given(registered).when(register("billing")))).toEqual([
      {
        type: "ClientRegistered",
        data: { clientId: "c2", name: "billing", secretHash: "sha256:def" },
      },
    ]);
  });

  test("an id already registered is refused", () => {
    expect(error(given(registered).when(register("again", "c1")))._tag).toBe(
      "ClientAlreadyRegistered",
    );
  });

  test.each([
    ["empty", ""],
    ["65 characters", "x".repeat(65)],
    ["a tab inside", "re\tports"],
    ["a newline at the end", "reports\n"],
    ["a space in front", " reports"],
  ])("a name that is %s is refused", (_case, name) => {
    expect(error(given().when(register(name)))._tag).toBe("InvalidClientName");
  });

  test("64 characters, spaces inside and any script are fine", () => {
    for (const name of ["x".repeat(64), "Billing API", "Отчёты"]) {
      expect(events(given().when(register(name)))).toHaveLength(1);
    }
  });

  test("revoking a live client records it; a revoked one again changes nothing", () => {
    expect(events(given(registered).when({ type: "RevokeClient", clientId: "c1" }))).toEqual([
      revoked,
    ]);
    expect(
      events(given(registered, revoked).when({ type: "RevokeClient", clientId: "c1" })),
    ).toEqual([]);
  });

  test("revoking an unknown client is refused", () => {
    expect(error(given(registered).when({ type: "RevokeClient", clientId: "c9" }))._tag).toBe(
      "ClientNotFound",
    );
  });

  test("the fold keeps every client in order, revoked ones marked", () => {
    const second: ClientEvent = {
      type: "ClientRegistered",
      data: { clientId: "c2", name: "billing", secretHash: "sha256:def" },
    };
    const registry = foldClients([registered, second, revoked]);
    expect([...registry.values()]).toEqual([
      { id: "c1", name: "reports", secretHash: "sha256:abc", revoked: true },
      { id: "c2", name: "billing", secretHash: "sha256:def", revoked: false },
    ]);
  });
});

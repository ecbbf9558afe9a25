/** Every client is one entry of one registry: a small aggregate, read whole (decision 39). */
export const clientsStream = "clients";

export type ClientRegistered = {
  readonly type: "ClientRegistered";
  readonly data: {
    readonly clientId: string;
    readonly name: string;
    /** The secret itself is shown once, when made, and never stored. */
    readonly secretHash: string;
  };
};

export type ClientRevoked = {
  readonly type: "ClientRevoked";
  readonly data: { readonly clientId: string };
};

export type ClientEvent = ClientRegistered | ClientRevoked;

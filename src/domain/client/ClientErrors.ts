export class ClientNotFound {
  readonly _tag = "ClientNotFound";
}

export class ClientAlreadyRegistered {
  readonly _tag = "ClientAlreadyRegistered";
}

export class InvalidClientName {
  readonly _tag = "InvalidClientName";
}

export type ClientError = ClientNotFound | ClientAlreadyRegistered | InvalidClientName;

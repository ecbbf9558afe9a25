export class UserAlreadyRegistered {
  readonly _tag = "UserAlreadyRegistered";
  constructor(readonly userId: string) {}
}

export class UserNotFound {
  readonly _tag = "UserNotFound";
}

export class InvalidUsername {
  readonly _tag = "InvalidUsername";
  constructor(readonly username: string) {}
}

export type UserError = UserAlreadyRegistered | UserNotFound | InvalidUsername;

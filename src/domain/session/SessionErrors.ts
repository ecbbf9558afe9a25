export class SessionNotFound {
  readonly _tag = "SessionNotFound";
}

export class SessionAlreadyStarted {
  readonly _tag = "SessionAlreadyStarted";
}

export class SessionEnded {
  readonly _tag = "SessionEnded";
}

export type SessionError = SessionNotFound | SessionAlreadyStarted | SessionEnded;

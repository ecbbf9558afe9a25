import { Context } from "effect";

export class AuthSettings extends Context.Service<
  AuthSettings,
  {
    readonly accessTokenSeconds: number;
    readonly refreshTokenSeconds: number;
    /** How long the refresh token a rotation replaced still answers; 0 disables. */
    readonly refreshGraceMs: number;
  }
>()("app/AuthSettings") {}

import { Context } from "effect";

export class Limits extends Context.Service<
  Limits,
  {
    readonly loginMaxFailuresPerUser: number;
    readonly loginMaxFailuresPerIp: number;
    /** Length of the failure window, and of the lockout after the last allowed failure. */
    readonly loginLockoutMs: number;
    /** Registration attempts per client IP per hour; 0 turns the limit off. */
    readonly registerPerIpPerHour: number;
  }
>()("app/Limits") {}

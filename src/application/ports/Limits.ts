import { Context } from "effect";

/** Abuse limits, from configuration. */
export class Limits extends Context.Service<
  Limits,
  {
    /** Failed logins for one username (known or not) that start a lockout. */
    readonly loginMaxFailuresPerUser: number;
    /** Failed logins from one client IP that start a lockout. */
    readonly loginMaxFailuresPerIp: number;
    /** Length of the failure window, and of the lockout after the last allowed failure. */
    readonly loginLockoutMs: number;
    /** Registration attempts per client IP per hour; 0 turns the limit off. */
    readonly registerPerIpPerHour: number;
  }
>()("app/Limits") {}

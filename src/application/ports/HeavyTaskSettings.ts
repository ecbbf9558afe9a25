import { Context } from "effect";

export class HeavyTaskSettings extends Context.Service<
  HeavyTaskSettings,
  {
    /** The largest n accepted. */
    readonly maxN: number;
    readonly cacheTtlSeconds: number;
  }
>()("app/HeavyTaskSettings") {}

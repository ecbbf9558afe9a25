import { Context } from "effect";

export class HeavyTaskSettings extends Context.Service<
  HeavyTaskSettings,
  {
    readonly maxN: number;
    readonly cacheTtlSeconds: number;
  }
>()("app/HeavyTaskSettings") {}

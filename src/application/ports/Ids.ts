import { Context, type Effect } from "effect";

export class Ids extends Context.Service<
  Ids,
  {
    /** A fresh, unguessable, time-ordered id (a UUIDv7). */
    readonly next: Effect.Effect<string>;
  }
>()("app/Ids") {}

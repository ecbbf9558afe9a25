import { Effect, Layer } from "effect";
import { Ids } from "../../application/ports/Ids.ts";

export const UuidIdsLayer = Layer.succeed(Ids, { next: Effect.sync(() => Bun.randomUUIDv7()) });

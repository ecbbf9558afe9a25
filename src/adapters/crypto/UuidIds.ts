import { Effect, Layer } from "effect";
import { v7 } from "uuid";
import { Ids } from "../../application/ports/Ids.ts";

export const UuidIdsLayer = Layer.succeed(Ids, { next: Effect.sync(() => v7()) });

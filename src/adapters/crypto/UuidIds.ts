import { Effect, Layer } from "effect";
import { v7 } from "uuid";
import { Ids } from "../../application/ports/Ids.ts";

/**
 * UUIDv7 (RFC 9562) from the `uuid` package, the same under Bun and Deno: ids made in one
 * process keep increasing, within one millisecond and across a clock that steps back.
 */
export const UuidIdsLayer = Layer.succeed(Ids, { next: Effect.sync(() => v7()) });

import { Effect } from "effect";
import type { Metadata } from "../ports/EventStore.ts";
import { describeRing } from "./listKeys.ts";
import { changeKeyRing, SigningKeys } from "./SigningKeys.ts";

/** The next key signs from now on, the active one retires, a new next key is published. */
export const rotateKeys = Effect.fn("rotateKeys")(function* (metadata: Metadata) {
  const view = yield* changeKeyRing((fresh, now) => ({ type: "RotateKeys", now, fresh }), metadata);
  yield* (yield* SigningKeys).advance(view);
  return yield* describeRing(view.ring);
});

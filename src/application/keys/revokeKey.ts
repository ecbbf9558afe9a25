import { Effect } from "effect";
import { ValidationFailed } from "../errors.ts";
import type { Metadata } from "../ports/EventStore.ts";
import { describeRing } from "./listKeys.ts";
import { changeKeyRing, SigningKeys } from "./SigningKeys.ts";

export const maxReasonLength = 200;

const reasonRule = `at most ${maxReasonLength} characters`;

/**
 * From the answer on, this instance verifies nothing with the key; the others within a poll of
 * the log. The active key is rotated away first; a next key is replaced. Revoking twice is fine.
 */
export const revokeKey = Effect.fn("revokeKey")(function* (
  request: { readonly kid: string; readonly reason?: string | undefined },
  metadata: Metadata,
) {
  const reason = request.reason?.trim() || "revoked";
  if (reason.length > maxReasonLength) {
    return yield* new ValidationFailed({ fields: [{ name: "reason", rule: reasonRule }] });
  }
  const view = yield* changeKeyRing(
    (fresh, now) => ({ type: "RevokeKey", kid: request.kid, reason, now, fresh }),
    metadata,
  );
  yield* (yield* SigningKeys).advance(view);
  return yield* describeRing(view.ring);
});

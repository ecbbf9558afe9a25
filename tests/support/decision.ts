import type { Decision } from "../../src/domain/Decision.ts";

/** The events a decision accepted; throws when it refused. */
export const events = <E, X>(decision: Decision<E, X>): readonly E[] => {
  if (!decision.ok) throw new Error(`refused: ${JSON.stringify(decision.error)}`);
  return decision.events;
};

/** The error a decision refused with; throws when it accepted. */
export const error = <E, X>(decision: Decision<E, X>): X => {
  if (decision.ok) throw new Error("accepted");
  return decision.error;
};

export type Decision<E, X> =
  | { readonly ok: true; readonly events: readonly E[] }
  | { readonly ok: false; readonly error: X };

export const accept = <E>(...events: readonly E[]): Decision<E, never> => ({ ok: true, events });

export const reject = <X>(error: X): Decision<never, X> => ({ ok: false, error });

export const fold =
  <S, E>(evolve: (state: S, event: E) => S, initial: S) =>
  (events: Iterable<E>): S => {
    let state = initial;
    for (const event of events) state = evolve(state, event);
    return state;
  };

/** The time a contract suite runs in: what the adapter under test reads, and how to move it. */
export type ContractTime = {
  readonly now: () => number;
  readonly advance: (ms: number) => Promise<void>;
};

/** A clock that only `advance` moves, for adapters that take one: no test waits. */
export const manualTime = (start = Date.UTC(2030, 0, 1)): ContractTime => {
  let at = start;
  return {
    now: () => at,
    advance: async (ms) => {
      at += ms;
    },
  };
};

/** The wall clock, for a server whose TTLs run on its own clock: `advance` really waits. */
export const realTime: ContractTime = {
  now: () => Date.now(),
  advance: (ms) => Bun.sleep(ms),
};

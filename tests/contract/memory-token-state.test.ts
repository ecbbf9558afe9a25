import { makeMemoryTokenState } from "../../src/adapters/embedded/MemoryTokenState.ts";
import { tokenStateContract } from "./tokenStateContract.ts";

const states = new WeakMap<object, ReturnType<typeof makeMemoryTokenState>>();

tokenStateContract(
  "in-process memory",
  async () => {
    const state = makeMemoryTokenState();
    states.set(state, state);
    return state;
  },
  async (state) => states.get(state)?.clear(),
);

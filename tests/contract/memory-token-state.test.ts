import { makeMemoryTokenState } from "../../src/adapters/embedded/MemoryTokenState.ts";
import { manualTime } from "./contractTime.ts";
import { tokenStateContract } from "./tokenStateContract.ts";

const time = manualTime();
const states = new WeakMap<object, ReturnType<typeof makeMemoryTokenState>>();

tokenStateContract(
  "in-process memory",
  time,
  async () => {
    const state = makeMemoryTokenState(time.now);
    states.set(state, state);
    return state;
  },
  async (state) => states.get(state)?.clear(),
);

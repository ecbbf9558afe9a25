import { makeMemoryTokenState } from "../../src/adapters/embedded/MemoryTokenState.ts";
import { tokenStateContract } from "./tokenStateContract.ts";

tokenStateContract("in-process memory", async () => makeMemoryTokenState());

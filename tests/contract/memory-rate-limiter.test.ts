import { makeMemoryRateLimiter } from "../../src/adapters/embedded/MemoryRateLimiter.ts";
import { manualTime } from "./contractTime.ts";
import { rateLimiterContract } from "./rateLimiterContract.ts";

const time = manualTime();
rateLimiterContract("in-process memory", time, async () => makeMemoryRateLimiter(time.now));

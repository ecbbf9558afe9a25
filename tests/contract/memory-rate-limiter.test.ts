import { makeMemoryRateLimiter } from "../../src/adapters/embedded/MemoryRateLimiter.ts";
import { rateLimiterContract } from "./rateLimiterContract.ts";

rateLimiterContract("in-process memory", async () => makeMemoryRateLimiter());

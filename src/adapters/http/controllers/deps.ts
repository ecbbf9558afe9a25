import type { Elysia } from "elysia";
import type { requestContext } from "../context.ts";
import type { RefreshCookies } from "../cookies.ts";
import type { guard } from "../guard.ts";
import type { Run } from "../runner.ts";

export type Deps = {
  readonly run: Run;
  readonly guard: ReturnType<typeof guard>;
  readonly bodies: Elysia;
  readonly context: ReturnType<typeof requestContext>;
  readonly cookies: RefreshCookies;
};

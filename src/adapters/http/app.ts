import { Elysia } from "elysia";
import type { Logger } from "../logging/jsonLogger.ts";
import { bodies } from "./body.ts";
import { requestContext } from "./context.ts";
import { accountController } from "./controllers/account.ts";
import { adminController } from "./controllers/admin.ts";
import type { Deps } from "./controllers/deps.ts";
import { secureController } from "./controllers/secure.ts";
import { sessionController } from "./controllers/session.ts";
import { refreshCookies } from "./cookies.ts";
import { docs } from "./docs.ts";
import { problemErrors } from "./errors.ts";
import { guard } from "./guard.ts";
import { health } from "./health.ts";
import { observability, type RequestMetrics } from "./observability.ts";
import { type Runtime, runner } from "./runner.ts";

export type HttpOptions = {
  /** False only for plain-http local development. */
  readonly cookieSecure: boolean;
  readonly maxBodyBytes: number;
  readonly log: Logger;
  /** The largest n of GET /secure/heavy-task, stated in its schema. */
  readonly heavyTaskMaxN: number;
  /** Peers whose X-Forwarded-For names the client; from anyone else the header is ignored. */
  readonly trustedProxies: readonly string[];
  /** Undefined: nothing is counted and GET /metrics answers 404. */
  readonly metrics: RequestMetrics | undefined;
  /** Origins allowed to call with credentials (CORS); empty: no CORS headers at all. */
  readonly corsOrigins: readonly string[];
  /** The socket peer of a request, where the server is not Bun's (Bun's answers `requestIP`). */
  readonly peerAddress?: (request: Request) => string | undefined;
};

/** The HTTP adapter: the cross-cutting plugins, then one controller per area. */
export const createApp = (runtime: Runtime, options: HttpOptions) => {
  const deps: Deps = {
    run: runner(runtime, options.log),
    guard: guard(runtime, options.log),
    bodies: bodies(options.maxBodyBytes),
    context: requestContext({
      trustedProxies: options.trustedProxies,
      ...(options.peerAddress ? { peerAddress: options.peerAddress } : {}),
    }),
    cookies: refreshCookies(options.cookieSecure),
  };
  return new Elysia({ name: "authlog" })
    .use(
      observability({
        log: options.log,
        metrics: options.metrics,
        corsOrigins: options.corsOrigins,
        hsts: options.cookieSecure,
      }),
    )
    .use(problemErrors(options.log))
    .use(docs())
    .use(health(runtime))
    .use(sessionController(deps))
    .use(accountController(deps))
    .use(adminController(deps))
    .use(secureController(deps, options.heavyTaskMaxN));
};

/** The app's type, routes and bodies included: what Eden's `treaty<App>` takes. */
export type App = ReturnType<typeof createApp>;

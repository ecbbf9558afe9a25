import { Elysia } from "elysia";
import type { Logger } from "../logging/jsonLogger.ts";
import { bodies } from "./body.ts";
import { requestContext } from "./context.ts";
import { accountController } from "./controllers/account.ts";
import { adminController } from "./controllers/admin.ts";
import { clientsController } from "./controllers/clients.ts";
import type { Deps } from "./controllers/deps.ts";
import { discoveryController } from "./controllers/discovery.ts";
import { forwardAuthController } from "./controllers/forwardAuth.ts";
import { keysController } from "./controllers/keys.ts";
import { oauthController } from "./controllers/oauth.ts";
import { secureController } from "./controllers/secure.ts";
import { sessionController } from "./controllers/session.ts";
import { sessionsController } from "./controllers/sessions.ts";
import { usersController } from "./controllers/users.ts";
import { refreshCookies } from "./cookies.ts";
import { docs } from "./docs.ts";
import { problemErrors } from "./errors.ts";
import { guard } from "./guard.ts";
import { health } from "./health.ts";
import { observability, type RequestMetrics } from "./observability.ts";
import { type Runtime, runner } from "./runner.ts";

export type HttpOptions = {
  readonly cookieSecure: boolean;
  /** JWT_ISSUER: the `iss` of every token, as introspection and the RFC 8414 metadata name it. */
  readonly issuer: string;
  readonly maxBodyBytes: number;
  readonly log: Logger;
  readonly heavyTaskMaxN: number;
  readonly trustedProxies: readonly string[];
  readonly metrics: RequestMetrics | undefined;
  readonly corsOrigins: readonly string[];
  readonly peerAddress?: (request: Request) => string | undefined;
};

export const createApp = (runtime: Runtime, options: HttpOptions) => {
  const deps: Deps = {
    run: runner(runtime, options.log),
    guard: guard(runtime),
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
    .use(sessionsController(deps))
    .use(usersController(deps))
    .use(clientsController(deps))
    .use(oauthController(deps, options.issuer, options.log))
    .use(forwardAuthController(deps))
    .use(keysController(deps))
    .use(discoveryController(deps, options.issuer))
    .use(secureController(deps, options.heavyTaskMaxN));
};

export type App = ReturnType<typeof createApp>;

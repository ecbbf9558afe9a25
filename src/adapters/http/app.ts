import { Effect, type ManagedRuntime } from "effect";
import { Elysia, t } from "elysia";
import { Authenticator } from "../../application/Authenticator.ts";
import { userEvents } from "../../application/audit.ts";
import {
  type Credentials,
  login,
  logout,
  logoutAll,
  me,
  refresh,
  register,
  type TokenPair,
  type UserView,
} from "../../application/auth.ts";
import { Forbidden } from "../../application/errors.ts";
import { changePassword } from "../../application/password.ts";
import type { Metadata } from "../../application/ports/EventStore.ts";
import type { AccessClaims } from "../../application/ports/Tokens.ts";
import { changeRole } from "../../application/roles.ts";
import type { AppServices } from "../../application/services.ts";
import { clientIp as clientAddress, trustedSet } from "./clientIp.ts";
import { docs } from "./docs.ts";
import { type AppError, type Logger, settle, toResponse } from "./errors.ts";
import { health } from "./health.ts";
import { heavyTaskRoutes } from "./heavyTask.ts";
import { observability, type RequestMetrics } from "./observability.ts";
import { problem } from "./problem.ts";
import {
  bearer,
  bodyProblems,
  problems,
  refreshCookie,
  SecureData,
  Token,
  tokenProblems,
  User,
  UserEvents,
} from "./schemas.ts";

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

/** Thrown from hooks to answer at once with a ready Response. */
class Reply extends Error {
  constructor(readonly response: Response) {
    super("reply");
  }
}

// RFC 6750 and 7235: the scheme is case-insensitive, and more than one space may follow it.
const bearerPattern = /^bearer +([A-Za-z0-9._~+/-]+=*) *$/i;
const bodyMethods = new Set(["POST", "PUT", "PATCH"]);

const cookieName = "refresh_token";

const tooLarge = () => problem(413, "The body is too large.");

// Built here: Elysia's own empty 204 carries an empty body, which Deno's Response refuses.
const noContent = () => new Response(null, { status: 204 });

const credentials = t.Object({
  username: t.String({ maxLength: 256 }),
  password: t.String({ maxLength: 1024 }),
});

const userBody = (user: UserView) => ({
  id: user.id,
  username: user.username,
  role: user.role,
  created_at: user.createdAt.toISOString(),
});

export const createApp = (
  runtime: ManagedRuntime.ManagedRuntime<AppServices, never>,
  options: HttpOptions,
) => {
  const run = <A>(effect: Effect.Effect<A, AppError, AppServices>) =>
    runtime.runPromiseExit(effect).then((exit) => settle(exit, options.log));

  /** The refresh cookie: HttpOnly, SameSite=Strict, sent to /auth only. */
  const setRefreshCookie = (cookie: CookieJar, value: string, lifetime: Record<string, unknown>) =>
    cookie[cookieName]?.set({
      value,
      httpOnly: true,
      sameSite: "strict",
      path: "/auth",
      secure: options.cookieSecure,
      ...lifetime,
    });

  const tokenResponse = (pair: TokenPair, cookie: CookieJar) => {
    setRefreshCookie(cookie, pair.refreshToken, { expires: new Date(pair.refreshExpiresAt) });
    return {
      access_token: pair.accessToken,
      token_type: "bearer" as const,
      expires_in: pair.expiresIn,
    };
  };

  const clearCookie = (cookie: CookieJar) => setRefreshCookie(cookie, "", { maxAge: 0 });

  // Resolved once, on first use, after the runtime has built its layers.
  let authenticate: Authenticator["Service"]["authenticate"] | undefined;
  const principal = async (authorization: string | undefined): Promise<AccessClaims> => {
    const token = authorization === undefined ? null : bearerPattern.exec(authorization)?.[1];
    if (!token) {
      throw new Reply(problem(401, "A bearer access token is required."));
    }
    authenticate ??= (await runtime.runPromise(Authenticator)).authenticate;
    const result = settle(await Effect.runPromiseExit(authenticate(token)), options.log);
    if (result instanceof Response) throw new Reply(result);
    return result;
  };

  const trusted = trustedSet(options.trustedProxies);

  const admin = async (authorization: string | undefined): Promise<AccessClaims> => {
    const claims = await principal(authorization);
    if (claims.role !== "admin") throw new Reply(toResponse(new Forbidden()));
    return claims;
  };

  // `/auth/token` is the name OAuth2 password-flow clients use; both answer alike.
  const logIn = async ({
    body,
    metadata,
    cookie,
  }: {
    body: Credentials;
    metadata: Metadata;
    cookie: CookieJar;
  }) => {
    const result = await run(login(body, metadata));
    return result instanceof Response ? result : tokenResponse(result, cookie);
  };

  const loginRoute = {
    body: credentials,
    response: {
      200: Token,
      ...problems({
        ...bodyProblems,
        401: "Invalid username or password: the same answer, in similar time, for an unknown user.",
        422: "A missing or non-string field.",
        429: "Too many failed logins for this username or from this client; see Retry-After. The right password is refused too until then.",
        503: "The event store or the attempt counters are unreachable.",
      }),
    },
    detail: {
      summary: "Log in: an access token, and the refresh token as an HttpOnly cookie",
      description:
        "JSON, or the OAuth2 password grant's form fields (application/x-www-form-urlencoded).",
      responses: {
        200: { description: "Logged in; the refresh cookie is set." },
      },
    },
  };

  return (
    new Elysia({ name: "authlog" })
      .use(
        observability({
          log: options.log,
          metrics: options.metrics,
          corsOrigins: options.corsOrigins,
          hsts: options.cookieSecure,
        }),
      )
      .derive({ as: "global" }, ({ request, server, headers, requestId }) => {
        const clientIp = clientAddress(
          options.peerAddress?.(request) ?? server?.requestIP(request)?.address,
          headers["x-forwarded-for"],
          trusted,
        );
        const metadata: Metadata = clientIp ? { requestId, clientIp } : { requestId };
        return { metadata };
      })
      .onRequest(({ request }) => {
        if (!bodyMethods.has(request.method)) return;
        const length = Number(request.headers.get("content-length") ?? 0);
        if (length > options.maxBodyBytes) return tooLarge();
      })
      // One parser for every body: bounded, JSON or form only, and a problem for anything else.
      .onParse({ as: "global" }, async ({ request, contentType }) => {
        const text = await request.text();
        if (Buffer.byteLength(text) > options.maxBodyBytes) throw new Reply(tooLarge());
        if (text === "") return {};
        const type = contentType?.split(";")[0]?.trim().toLowerCase();
        if (type === "application/x-www-form-urlencoded") {
          return Object.fromEntries(new URLSearchParams(text));
        }
        if (type !== "application/json") {
          throw new Reply(
            problem(415, "Send application/json or application/x-www-form-urlencoded."),
          );
        }
        try {
          return JSON.parse(text);
        } catch {
          throw new Reply(problem(400, "The body is not valid JSON."));
        }
      })
      .onError({ as: "global" }, ({ code, error, set }) => {
        if (error instanceof Reply) return error.response;
        // Elysia wraps what a parser throws in its own ParseError.
        const cause = (error as { cause?: unknown }).cause;
        if (cause instanceof Reply) return cause.response;
        switch (code) {
          case "VALIDATION":
            // A body that breaks its own response model is this server's bug, not the client's.
            if (error.type === "response") {
              options.log("error", "response does not match its model", {
                errors: validationErrors(error),
              });
              return problem(500, "The server failed to handle the request.");
            }
            // Elysia's own 422 echoes submitted values, passwords included: name the fields only.
            return problem(422, "The request has invalid fields.", {
              extra: { errors: validationErrors(error) },
            });
          case "PARSE":
            return problem(400, "The body could not be parsed.");
          case "NOT_FOUND":
            return problem(404, "No such route.");
          case "INVALID_COOKIE_SIGNATURE":
            return problem(401, "Invalid cookie.");
          default:
            if (set.status === 413) return tooLarge();
            options.log("error", "unhandled error", { code, error: String(error) });
            return problem(500, "The server failed to handle the request.");
        }
      })
      .use(docs())
      .use(health(runtime))
      .use(heavyTaskRoutes({ runtime, principal, log: options.log, maxN: options.heavyTaskMaxN }))
      .post(
        "/auth/register",
        async ({ body, metadata, set }) => {
          // Only these two fields: a role in the body must never reach the use case.
          const { username, password } = body;
          const result = await run(register({ username, password }, metadata));
          if (result instanceof Response) return result;
          set.status = 201;
          return userBody(result);
        },
        {
          body: credentials,
          response: {
            201: User,
            ...problems({
              ...bodyProblems,
              409: "That username is taken.",
              422: "Invalid fields (errors[] names them): the username or password rules.",
              429: "Too many registrations from this client within the hour (REGISTER_RATE_LIMIT).",
              503: "The event store is unreachable; nothing was stored.",
            }),
          },
          detail: {
            summary: "Register a user (role: user)",
            responses: {
              201: { description: "The new account." },
            },
          },
        },
      )
      .post("/auth/login", logIn, loginRoute)
      .post("/auth/token", logIn, loginRoute)
      .post(
        "/auth/refresh",
        async ({ cookie, metadata }) => {
          const token = cookie[cookieName]?.value;
          if (typeof token !== "string" || token === "") {
            return problem(401, "The refresh_token cookie is missing.");
          }
          const result = await run(refresh(token, metadata));
          if (result instanceof Response) {
            if (result.status === 401) clearCookie(cookie);
            return result;
          }
          return tokenResponse(result, cookie);
        },
        {
          response: {
            200: Token,
            ...problems({
              401: "The cookie is missing, invalid or expired, or was already rotated: a reused refresh token revokes its whole session.",
              503: "The event store or the token state is unreachable.",
            }),
          },
          detail: {
            summary: "Rotate the refresh cookie and get a new access token",
            security: refreshCookie,
            responses: {
              200: { description: "A new access token; the refresh cookie is replaced." },
            },
          },
        },
      )
      .post(
        "/auth/logout",
        async ({ cookie, headers, metadata }) => {
          const accessToken = bearerPattern.exec(headers.authorization ?? "")?.[1];
          const refreshToken = cookie[cookieName]?.value;
          const result = await run(
            logout(
              {
                ...(accessToken ? { accessToken } : {}),
                ...(typeof refreshToken === "string" && refreshToken ? { refreshToken } : {}),
              },
              metadata,
            ),
          );
          if (result instanceof Response) return result;
          clearCookie(cookie);
          return noContent();
        },
        {
          response: problems({
            401: "Neither a valid access token nor a valid refresh cookie was sent.",
            503: "The event store or the token state is unreachable.",
          }),
          detail: {
            summary: "End this login: every token from it stops working",
            description: "Send the access token, the refresh cookie, or both.",
            security: [...bearer, ...refreshCookie],
            responses: {
              204: { description: "Logged out; the refresh cookie is cleared." },
            },
          },
        },
      )
      .post(
        "/auth/logout-all",
        async ({ headers, metadata }) => {
          const claims = await principal(headers.authorization);
          const result = await run(logoutAll(claims, metadata));
          if (result instanceof Response) return result;
          return noContent();
        },
        {
          response: problems(tokenProblems),
          detail: {
            summary: "End every login of the caller",
            security: bearer,
            responses: {
              204: { description: "Every token of every session of the caller stopped working." },
            },
          },
        },
      )
      .get(
        "/auth/me",
        async ({ headers }) => {
          const claims = await principal(headers.authorization);
          const result = await run(me(claims));
          return result instanceof Response ? result : userBody(result);
        },
        {
          response: { 200: User, ...problems(tokenProblems) },
          detail: {
            summary: "The caller's account",
            security: bearer,
            responses: { 200: { description: "The caller." } },
          },
        },
      )
      .get(
        "/secure/data",
        async ({ headers }) => {
          const claims = await principal(headers.authorization);
          return {
            message: `Hello, ${claims.username}.`,
            user: { id: claims.sub, username: claims.username, role: claims.role },
          };
        },
        {
          response: { 200: SecureData, ...problems(tokenProblems) },
          detail: {
            summary: "A protected resource",
            security: bearer,
            responses: {
              200: { description: "A greeting naming the caller." },
            },
          },
        },
      )
      .post(
        "/auth/change-password",
        async ({ body, headers, metadata, cookie }) => {
          const claims = await principal(headers.authorization);
          const result = await run(
            changePassword(
              claims,
              { currentPassword: body.current_password, newPassword: body.new_password },
              metadata,
            ),
          );
          return result instanceof Response ? result : tokenResponse(result, cookie);
        },
        {
          body: t.Object({
            current_password: t.String({ maxLength: 1024 }),
            new_password: t.String({ maxLength: 1024 }),
          }),
          response: {
            200: Token,
            ...problems({
              ...bodyProblems,
              ...tokenProblems,
              401: "No valid access token, or current_password is wrong.",
              422: "new_password breaks the password rules (errors[] names it).",
            }),
          },
          detail: {
            summary: "Change the caller's password: every token dies, the caller gets a new pair",
            security: bearer,
            responses: {
              200: { description: "A new access token and refresh cookie for this caller." },
            },
          },
        },
      )
      .post(
        "/auth/change-role",
        async ({ body, headers, metadata }) => {
          const claims = await admin(headers.authorization);
          const result = await run(
            changeRole(
              { username: body.username, role: body.role },
              { admin: claims.sub },
              metadata,
            ),
          );
          return result instanceof Response ? result : userBody(result);
        },
        {
          body: t.Object({
            username: t.String({ maxLength: 256 }),
            role: t.String({ maxLength: 32, description: "user or admin" }),
          }),
          response: {
            200: User,
            ...problems({
              ...bodyProblems,
              ...tokenProblems,
              403: "The caller is not an admin.",
              404: "No such user.",
              409: "That would leave no admin.",
              422: "role is neither user nor admin, or a field is missing.",
            }),
          },
          detail: {
            summary: "Admin: set a user's role; every token the user held stops working at once",
            security: bearer,
            responses: {
              200: { description: "The user with the new role." },
            },
          },
        },
      )
      .get(
        "/admin/users/:id/events",
        async ({ headers, params }) => {
          await admin(headers.authorization);
          const result = await run(userEvents(params.id));
          if (result instanceof Response) return result;
          return {
            user_id: params.id,
            events: result.map((entry) => ({
              stream: entry.stream,
              position: entry.position,
              version: entry.version,
              type: entry.type,
              recorded_at: entry.recordedAt.toISOString(),
              actor: entry.actor,
              request_id: entry.requestId,
              client_ip: entry.clientIp,
              data: entry.data,
            })),
          };
        },
        {
          params: t.Object({ id: t.String({ maxLength: 64 }) }),
          response: {
            200: UserEvents,
            ...problems({
              ...tokenProblems,
              403: "The caller is not an admin.",
              404: "No such user.",
            }),
          },
          detail: {
            summary: "Admin: a user's event history, oldest first, hashes stripped",
            security: bearer,
            responses: {
              200: { description: "The audit trail: who changed what, when, from where." },
            },
          },
        },
      )
  );
};

/** The app's type, routes and bodies included: what Eden's `treaty<App>` takes. */
export type App = ReturnType<typeof createApp>;

type CookieJar = Record<
  string,
  { value: unknown; set: (config: Record<string, unknown>) => unknown } | undefined
>;

const validationErrors = (error: unknown): { field: string; message: string }[] => {
  const all = (error as { all?: { path?: string; message?: string }[] }).all;
  if (!Array.isArray(all)) return [{ field: "body", message: "invalid" }];
  const seen = new Map<string, string>();
  for (const issue of all) {
    const field = (issue.path ?? "").replace(/^\//, "").replaceAll("/", ".") || "body";
    if (!seen.has(field)) seen.set(field, issue.message ?? "invalid");
  }
  return [...seen].map(([field, message]) => ({ field, message }));
};

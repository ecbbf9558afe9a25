import { Effect } from "effect";
import { Elysia, t } from "elysia";
import { login } from "../../../application/login.ts";
import { logout } from "../../../application/logout.ts";
import { refresh } from "../../../application/refresh.ts";
import { register } from "../../../application/register.ts";
import type { CookieJar } from "../cookies.ts";
import { bearerToken } from "../guard.ts";
import { problem } from "../problem.ts";
import { bearer, bodyProblems, problems, refreshCookie, Token, User } from "../schemas.ts";
import type { Deps } from "./deps.ts";
import { noContent, userBody } from "./views.ts";

const credentials = t.Object({
  username: t.String({ maxLength: 256 }),
  password: t.String({ maxLength: 1024 }),
});

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
    responses: { 200: { description: "Logged in; the refresh cookie is set." } },
  },
};

export const sessionController = ({ run, bodies, context, cookies }: Deps) => {
  const logIn = ({
    body,
    metadata,
    cookie,
  }: {
    body: { username: string; password: string };
    metadata: Parameters<typeof login>[1];
    cookie: CookieJar;
  }) => run(login(body, metadata), cookies.tokens(cookie));

  return (
    new Elysia({ name: "session-controller" })
      .use(bodies)
      .use(context)
      .post(
        "/auth/register",
        // Only these two fields: a role in the body never reaches the use case.
        ({ body: { username, password }, metadata, set }) =>
          run(register({ username, password }, metadata), (user) => {
            set.status = 201;
            return userBody(user);
          }),
        {
          body: credentials,
          response: {
            201: User,
            ...problems({
              ...bodyProblems,
              409: "That username is taken.",
              422: "Invalid fields (errors[] names them): the username or password rules.",
              429: "Too many registrations from this client within the hour (REGISTER_RATE_LIMIT).",
              503: "The event store did not answer in time; retry (a retry finds the name taken if it was stored).",
            }),
          },
          detail: {
            summary: "Register a user (role: user)",
            responses: { 201: { description: "The new account." } },
          },
        },
      )
      .post("/auth/login", logIn, loginRoute)
      // The name OAuth2 password-flow clients use; it answers as /auth/login does.
      .post("/auth/token", logIn, loginRoute)
      .post(
        "/auth/refresh",
        ({ cookie, metadata }) => {
          const token = cookies.presented(cookie);
          if (token === undefined) return problem(401, "The refresh_token cookie is missing.");
          const forget = Effect.sync(() => cookies.clear(cookie));
          return run(
            refresh(token, metadata).pipe(
              Effect.tapErrorTag("TokenRejected", () => forget),
              Effect.tapErrorTag("RefreshTokenReused", () => forget),
            ),
            cookies.tokens(cookie),
          );
        },
        {
          response: {
            200: Token,
            // Refresh and logout take no body, but one sent still goes through the shared parser.
            ...problems({
              ...bodyProblems,
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
        ({ cookie, headers, metadata }) => {
          const accessToken = bearerToken(headers.authorization);
          const refreshToken = cookies.presented(cookie);
          const presented = {
            ...(accessToken ? { accessToken } : {}),
            ...(refreshToken ? { refreshToken } : {}),
          };
          return run(logout(presented, metadata), () => {
            cookies.clear(cookie);
            return noContent();
          });
        },
        {
          response: problems({
            ...bodyProblems,
            401: "Neither a valid access token nor a valid refresh cookie was sent.",
            503: "The event store or the token state is unreachable.",
          }),
          detail: {
            summary: "End this login: every token from it stops working",
            description: "Send the access token, the refresh cookie, or both.",
            security: [...bearer, ...refreshCookie],
            responses: { 204: { description: "Logged out; the refresh cookie is cleared." } },
          },
        },
      )
  );
};

import { Effect } from "effect";
import { Elysia, getSchemaValidator } from "elysia";
import { login } from "../../../application/login.ts";
import { logout } from "../../../application/logout.ts";
import { refresh } from "../../../application/refresh.ts";
import { register } from "../../../application/register.ts";
import type { CookieJar } from "../cookies.ts";
import { fieldErrors, invalidFields } from "../errors.ts";
import { bearerToken } from "../guard.ts";
import { grantOf, noStore, oauthAnswers } from "../oauth2.ts";
import { problem } from "../problem.ts";
import {
  bearer,
  bodyProblems,
  Credentials,
  jsonSchema,
  problems,
  refreshCookie,
  Token,
  TokenGrant,
  TokenRequest,
  User,
} from "../schemas.ts";
import type { Deps } from "./deps.ts";
import { noContent, userBody } from "./views.ts";

const loginProblems = {
  ...bodyProblems,
  401: "Invalid username or password: the same answer, in similar time, for an unknown user.",
  403: "The password is right but the account is disabled: code account_disabled.",
  422: "A missing or non-string field.",
  429: "Too many failed logins for this username or from this client; see Retry-After. The right password is refused too until then.",
  503: "The event store or the attempt counters are unreachable.",
} as const;

const loginRoute = {
  body: Credentials,
  response: { 200: Token, ...problems(loginProblems) },
  detail: {
    summary: "Log in: an access token, and the refresh token as an HttpOnly cookie",
    description:
      "JSON, or the OAuth2 password grant's form fields (application/x-www-form-urlencoded).",
    responses: { 200: { description: "Logged in; the refresh cookie is set." } },
  },
};

const credentialsCheck = getSchemaValidator(Credentials, { normalize: true });

/** The 422 of /auth/login's own validation, which first drops the fields the model lacks. */
const credentialsOf = (body: unknown): typeof Credentials.static | Response => {
  const cleaned = body === null ? body : (credentialsCheck.Clean?.(body) ?? body);
  if (credentialsCheck.Check(cleaned)) return cleaned as typeof Credentials.static;
  return invalidFields(fieldErrors(credentialsCheck.Errors(cleaned)));
};

const {
  400: notJson,
  403: disabled,
  429: lockedOut,
  503: unreachable,
  ...loginOnly
} = loginProblems;

// No `body` model: a form with grant_type is checked against TokenRequest, anything else as a
// login, so that each answers its own errors (RFC 6749's, or the 422 of /auth/login).
const tokenRoute = {
  response: {
    200: TokenGrant,
    ...problems(loginOnly),
    ...problems(
      {
        400: `${notJson} A form request: invalid_request (a missing or invalid parameter), invalid_grant (wrong username or password; a refresh token that is unknown, expired, revoked or already rotated, which also ends its session) or unsupported_grant_type.`,
        403: `${disabled} A form request gets error invalid_grant too.`,
        429: `${lockedOut} A form request gets error invalid_grant.`,
        503: `${unreachable} A form request gets error temporarily_unavailable.`,
      },
      { oauth: true },
    ),
  },
  detail: {
    summary: "OAuth2 token endpoint (RFC 6749): password and refresh_token grants",
    description: [
      "A form (application/x-www-form-urlencoded) with `grant_type` is an RFC 6749 token request:",
      "`password` (username, password) or `refresh_token` (refresh_token). The answer adds",
      "`refresh_token` and sets the refresh cookie as well; errors are RFC 6749 errors (`error`,",
      "`error_description`) with the problem fields, as application/json. Any other body is a",
      "login and answers exactly as POST /auth/login.",
    ].join(" "),
    requestBody: {
      required: true,
      content: {
        "application/x-www-form-urlencoded": { schema: jsonSchema(TokenRequest) },
        "application/json": { schema: jsonSchema(Credentials) },
      },
    },
    responses: {
      200: { description: "A token; the refresh cookie is set, whichever the request." },
    },
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
          body: Credentials,
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
      // An OAuth2 token endpoint when the body is a form with grant_type; a login otherwise.
      .post(
        "/auth/token",
        ({ body, request, metadata, cookie, set }) => {
          const grant = grantOf(request.headers.get("content-type"), body);
          if (grant === undefined) {
            const credentials = credentialsOf(body);
            if (credentials instanceof Response) return credentials;
            return logIn({ body: credentials, metadata, cookie });
          }
          if (grant instanceof Response) return grant;
          const issued =
            grant.grant === "password"
              ? login({ username: grant.username, password: grant.password }, metadata)
              : refresh(grant.refreshToken, metadata);
          // The cookie follows the rotation too: a browser holding it would otherwise present a
          // rotated token later, and reuse detection would end the session.
          const tokenBody = cookies.tokens(cookie);
          return run(
            issued,
            (pair) => {
              Object.assign(set.headers, noStore);
              return { ...tokenBody(pair), refresh_token: pair.refreshToken };
            },
            oauthAnswers,
          );
        },
        tokenRoute,
      )
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

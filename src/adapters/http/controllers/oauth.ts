import { Effect } from "effect";
import { Elysia } from "elysia";
import { authenticateClient, type ClientCredentials } from "../../../application/clients.ts";
import { InvalidClient } from "../../../application/errors.ts";
import { unexplained } from "../../../application/explain.ts";
import { type Introspection, introspect } from "../../../application/introspect.ts";
import { revoke } from "../../../application/revoke.ts";
import type { Logger } from "../../logging/jsonLogger.ts";
import { toProblem } from "../errors.ts";
import { noStore } from "../oauth2.ts";
import { problem } from "../problem.ts";
import {
  bodyProblems,
  clientBasic,
  Introspection as IntrospectionModel,
  jsonSchema,
  problems,
  TokenParameters,
} from "../schemas.ts";
import type { Deps } from "./deps.ts";

const basicPattern = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i;

/** RFC 6749 2.3.1: the id and the secret are form-encoded before they are joined by ":". */
const formDecode = (value: string) => decodeURIComponent(value.replaceAll("+", " "));

/** Far beyond what this service issues: anything longer is refused before any read. */
const maxCredential = 256;

/** The client of an `Authorization: Basic` header, or undefined. */
export const basicCredentials = (authorization: string | null): ClientCredentials | undefined => {
  const encoded = authorization === null ? undefined : basicPattern.exec(authorization)?.[1];
  if (encoded === undefined) return undefined;
  const decoded = Buffer.from(encoded, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  try {
    const id = formDecode(decoded.slice(0, colon));
    const secret = formDecode(decoded.slice(colon + 1));
    if (id === "" || id.length > maxCredential || secret.length > maxCredential) return undefined;
    return { id, secret };
  } catch {
    return undefined;
  }
};

const invalidRequest = (detail: string) =>
  problem(400, detail, {
    headers: noStore,
    extra: { error: "invalid_request", error_description: detail },
  });

/** The `token` of an RFC 7009 or 7662 request, or its 400; each parameter at most once. */
export const tokenParameter = (body: unknown): string | Response => {
  const form = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  const repeated = ["token", "token_type_hint"].find((name) => Array.isArray(form[name]));
  if (repeated !== undefined) {
    return invalidRequest(`The ${repeated} parameter is sent more than once.`);
  }
  const { token, token_type_hint: hint } = form;
  if (hint !== undefined && typeof hint !== "string") {
    return invalidRequest("The token_type_hint parameter is not a string.");
  }
  // RFC 6749 3.1: a parameter sent without a value is as if omitted.
  if (typeof token !== "string" || token === "") {
    return invalidRequest("The token parameter is missing.");
  }
  return token;
};

const introspectionBody = (issuer: string) => (result: Introspection) =>
  result.active
    ? {
        active: true as const,
        token_type: result.tokenType,
        sub: result.sub,
        username: result.username,
        role: result.role,
        sid: result.sid,
        jti: result.jti,
        iat: result.iat,
        exp: result.exp,
        iss: issuer,
      }
    : { active: false as const };

const formOnly = {
  required: true,
  content: { "application/x-www-form-urlencoded": { schema: jsonSchema(TokenParameters) } },
};

export const oauthController = ({ run, bodies, context }: Deps, issuer: string, log: Logger) => {
  const body = introspectionBody(issuer);
  return new Elysia({ name: "oauth-controller" })
    .use(bodies)
    .use(context)
    .post(
      "/oauth/introspect",
      ({ body: form, request, set }) => {
        const credentials = basicCredentials(request.headers.get("authorization"));
        if (credentials === undefined) return toProblem(new InvalidClient());
        // Checked before it is reported: a caller that is no client learns nothing of the request.
        const token = tokenParameter(form);
        return run(
          Effect.gen(function* () {
            yield* authenticateClient(credentials);
            return typeof token === "string" ? yield* introspect(token) : token;
          }),
          (result) => {
            if (result instanceof Response) return result;
            Object.assign(set.headers, noStore);
            if (!result.active) {
              const { code, revokedAt } = result.explanation ?? unexplained;
              log("info", "introspection: inactive token", {
                code,
                revoked_at: revokedAt?.toISOString() ?? null,
              });
            }
            return body(result);
          },
        );
      },
      {
        response: {
          200: IntrospectionModel,
          ...problems({
            ...bodyProblems,
            400: "The token parameter is missing or sent twice (error: invalid_request).",
            401: "No client credentials, or not those of a live client (error: invalid_client); WWW-Authenticate: Basic.",
            503: "The event store or the token state is unreachable: whether the token is live cannot be known.",
          }),
        },
        detail: {
          summary: "Token introspection (RFC 7662): would protected routes accept this token now?",
          description:
            'For resource servers registered as clients (`cli clients create`, POST /admin/clients): HTTP Basic with `client_id:client_secret`. A forged, expired or revoked token, one of an outdated epoch, and a refresh token that is not its live session\'s current one all answer `{"active": false}` and nothing else. `token_type_hint` is ignored.',
          security: clientBasic,
          requestBody: formOnly,
          responses: { 200: { description: "Whether the token is active, and if so its claims." } },
        },
      },
    )
    .post(
      "/oauth/revoke",
      ({ body: form, metadata }) => {
        const token = tokenParameter(form);
        if (typeof token !== "string") return token;
        return run(revoke(token, metadata), revoked);
      },
      {
        response: problems({
          ...bodyProblems,
          400: "The token parameter is missing or sent twice (error: invalid_request).",
          503: "The event store or the token state is unreachable: nothing was revoked. Retry.",
        }),
        detail: {
          summary: "Token revocation (RFC 7009): give up an access or refresh token",
          description:
            "No client authentication: holding a token is enough to revoke it. An access token stops working by itself, a refresh token ends its session (every token of that login), at once on every instance. Any other token, unknown or invalid ones included, gets the same 200 and changes nothing (RFC 7009 2.2). `token_type_hint` is ignored.",
          requestBody: formOnly,
          responses: { 200: { description: "Revoked, or nothing to revoke: the body is empty." } },
        },
      },
    );
};

// RFC 7009 2.2: the status says it all; no body, so no media type either.
const revoked = () => new Response(null, { status: 200 });

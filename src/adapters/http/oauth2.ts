import { getSchemaValidator } from "elysia";
import type { AppError } from "../../application/errors.ts";
import { type Answers, fieldErrors, type Meaning, meaningOf } from "./errors.ts";
import { problem } from "./problem.ts";
import { type OAuthErrorCode, TokenRequest } from "./schemas.ts";

/** RFC 6749 5.1: no cache keeps a token, nor an answer to a request that carried a secret. */
export const noStore = { "cache-control": "no-store", pragma: "no-cache" } as const;

/** An RFC 6749 (5.2) error with the problem fields beside it, as application/json (RFC 6749). */
export const oauthError = (
  status: number,
  error: OAuthErrorCode,
  description: string,
  options: Pick<Meaning, "headers" | "extra"> = {},
) =>
  problem(status, description, {
    headers: { ...options.headers, ...noStore, "content-type": "application/json" },
    extra: { ...options.extra, error, error_description: description },
  });

const refusedGrants: ReadonlySet<AppError["_tag"]> = new Set([
  "InvalidCredentials",
  "TokenRejected",
  "RefreshTokenReused",
]);

/** The token endpoint's failures in RFC 6749 terms; statuses other than 400 keep their meaning. */
export const oauthAnswers: Answers = {
  failure: (error) => {
    const { status, detail, headers, extra } = meaningOf(error);
    // 400, not 401: RFC 6749 keeps 401 for failed client authentication, and none is asked.
    if (refusedGrants.has(error._tag)) return oauthError(400, "invalid_grant", detail, { extra });
    // The lockout refuses the grant however right the password: RFC 6749 has no code of its own.
    if (error._tag === "RateLimited" || error._tag === "AccountDisabled") {
      return oauthError(status, "invalid_grant", detail, { headers, extra });
    }
    const code =
      status >= 500 || error._tag === "Contended" ? "temporarily_unavailable" : "invalid_request";
    return oauthError(status, code, detail, { headers, extra });
  },
  fault: (status, detail) =>
    oauthError(status, status === 503 ? "temporarily_unavailable" : "server_error", detail),
};

export type Grant =
  | { readonly grant: "password"; readonly username: string; readonly password: string }
  | { readonly grant: "refresh_token"; readonly refreshToken: string };

const formType = "application/x-www-form-urlencoded";
const tokenRequest = getSchemaValidator(TokenRequest);

const invalid = (description: string) => oauthError(400, "invalid_request", description);

/**
 * The grant of an RFC 6749 token request (a form with `grant_type`), or the error answering it;
 * undefined when the body is not one, which makes it a login.
 */
export const grantOf = (
  contentType: string | null,
  body: unknown,
): Grant | Response | undefined => {
  if (contentType?.split(";")[0]?.trim().toLowerCase() !== formType) return undefined;
  if (typeof body !== "object" || body === null || !Object.hasOwn(body, "grant_type")) {
    return undefined;
  }
  const form = body as Record<string, unknown>;
  // RFC 6749 3.1: a parameter sent without a value is as if omitted.
  const given = (name: string) => {
    const value = form[name];
    return typeof value === "string" && value !== "" ? value : undefined;
  };
  const missing = (name: string) => invalid(`The ${name} parameter is missing.`);
  // RFC 6749 3.1: parameters must not be included more than once.
  const repeated = Object.keys(form).find((name) => Array.isArray(form[name]));
  if (repeated !== undefined) return invalid(`The ${repeated} parameter is sent more than once.`);
  const grantType = given("grant_type");
  if (grantType === undefined) return missing("grant_type");
  if (grantType !== "password" && grantType !== "refresh_token") {
    return oauthError(
      400,
      "unsupported_grant_type",
      "Only the password and refresh_token grants are supported.",
    );
  }
  const [issue] = fieldErrors(tokenRequest.Errors(form));
  if (issue) return invalid(`The ${issue.field} parameter is invalid: ${issue.message}.`);
  if (grantType === "refresh_token") {
    const refreshToken = given("refresh_token");
    if (refreshToken === undefined) return missing("refresh_token");
    return { grant: "refresh_token", refreshToken };
  }
  const username = given("username");
  if (username === undefined) return missing("username");
  const password = given("password");
  if (password === undefined) return missing("password");
  return { grant: "password", username, password };
};

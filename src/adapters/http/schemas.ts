// Not the package root: it replaces TypeBox's global format checks with slower zod/valibot ones.
import { withHeaders } from "@elysiajs/openapi/openapi";
import { type TSchema, t } from "elysia";

export const Problem = t.Object(
  {
    type: t.String({ description: "Always about:blank: the status says what happened." }),
    title: t.String({ description: "The status's standard reason phrase." }),
    status: t.Integer({ minimum: 400, maximum: 599 }),
    detail: t.String({ description: "What went wrong, for a person." }),
    errors: t.Optional(
      t.Array(t.Object({ field: t.String(), message: t.String() }), {
        description: "422 only: each invalid field, by name; submitted values are never echoed.",
      }),
    ),
    committed: t.Optional(
      t.Boolean({ description: "503 only: the change was stored before the failure." }),
    ),
    code: t.Optional(
      t.String({
        description:
          "401 for a refused token: why (token_revoked, session_revoked, signed_out_everywhere, role_changed, password_changed, account_disabled, key_revoked, refresh_token_reused, token_expired, invalid_token).",
        examples: ["role_changed"],
      }),
    ),
    revoked_at: t.Optional(
      t.String({
        description:
          "401 for a revoked token: when the event that revoked it was recorded (ISO 8601).",
      }),
    ),
  },
  { description: "RFC 9457 problem details" },
);

export const problemRef = "#/components/schemas/Problem";

export const problemMarker = "x-problem";

export const oauthErrorCodes = [
  "invalid_request",
  "invalid_grant",
  "unsupported_grant_type",
  "temporarily_unavailable",
  "server_error",
] as const;

export type OAuthErrorCode = (typeof oauthErrorCodes)[number];

export const OAuthError = t.Object(
  {
    error: t.UnionEnum(oauthErrorCodes),
    error_description: t.String({ description: "The same sentence as detail." }),
    ...Problem.properties,
  },
  { description: "An RFC 6749 (5.2) error that is also an RFC 9457 problem" },
);

export const oauthErrorRef = "#/components/schemas/OAuthError";

/** The problem may also come as an RFC 6749 error: answers to OAuth2 form requests. */
export const oauthMarker = "x-oauth-error";

// A token from the password flow is a bearer token too: Swagger UI sends either as Bearer.
export const bearer = [{ bearer: [] }, { oauth2: [] }];
export const refreshCookie = [{ refresh_token: [] }];

/** Elysia never checks a ready Response against a model: hence the static type. */
export const problems = <const D extends Readonly<Record<number, string>>>(
  described: D,
  options: { readonly oauth?: boolean } = {},
) =>
  Object.fromEntries(
    Object.entries(described).map(([status, description]) => [
      status,
      t.Unsafe<Response>({
        ...Problem,
        description,
        [problemMarker]: true,
        ...(options.oauth ? { [oauthMarker]: true } : {}),
      }),
    ]),
  ) as { [S in keyof D]: ReturnType<typeof t.Unsafe<Response>> };

export const bodyProblems = {
  400: "The body is not valid JSON.",
  413: "The body is larger than 64 KiB.",
  415: "The body is neither application/json nor application/x-www-form-urlencoded.",
} as const;

export const tokenProblems = {
  401: "No valid access token: missing, malformed, expired or revoked.",
  503: "Token revocation state cannot be checked right now.",
} as const;

/** A model as plain JSON Schema, for the parts of the document written by hand. */
// biome-ignore lint/complexity/noBannedTypes: what an OpenAPI schema object accepts, unnamed here
export const jsonSchema = (model: TSchema): {} => JSON.parse(JSON.stringify(model));

export const Credentials = t.Object({
  username: t.String({ maxLength: 256 }),
  password: t.String({ maxLength: 1024 }),
});

/** RFC 6749 4.3.2 and 6; the other fields a client sends (client_id, ...) are ignored. */
export const TokenRequest = t.Object(
  {
    grant_type: t.UnionEnum(["password", "refresh_token"]),
    username: t.Optional(t.String({ maxLength: 256, description: "grant_type=password" })),
    password: t.Optional(t.String({ maxLength: 1024, description: "grant_type=password" })),
    refresh_token: t.Optional(
      t.String({
        maxLength: 4096,
        description: "grant_type=refresh_token: the refresh_token of the last answer.",
      }),
    ),
    scope: t.Optional(
      t.String({ description: "Ignored: what a token may do follows from the user's role." }),
    ),
  },
  { description: "An OAuth2 token request (RFC 6749)", additionalProperties: true },
);

const role = t.Union([t.Literal("user"), t.Literal("admin")]);

export const User = t.Object({
  id: t.String({ format: "uuid" }),
  username: t.String(),
  role,
  created_at: t.String({ format: "date-time" }),
});

const refreshSetCookie = {
  "Set-Cookie": t.String({
    description:
      "refresh_token=<token>; HttpOnly; SameSite=Strict; Path=/auth (Secure unless COOKIE_SECURE=false)",
  }),
};

const tokenFields = {
  access_token: t.String({ description: "A JWT (HS256) for Authorization: Bearer." }),
  token_type: t.Literal("bearer"),
  expires_in: t.Integer({ description: "Seconds until the access token expires." }),
};

export const Token = withHeaders(t.Object(tokenFields), refreshSetCookie);

/** RFC 6749 5.1; a JSON login on /auth/token answers as Token does. */
export const TokenGrant = withHeaders(
  t.Object({
    ...tokenFields,
    refresh_token: t.Optional(
      t.String({
        description:
          "Form (OAuth2) requests only: the rotating refresh token, the cookie's value too.",
      }),
    ),
  }),
  {
    ...refreshSetCookie,
    "Cache-Control": t.String({ description: "no-store" }),
    Pragma: t.String({ description: "no-cache" }),
  },
);

export const SecureData = t.Object({
  message: t.String(),
  user: t.Object({
    id: t.String({ format: "uuid" }),
    username: t.String(),
    role,
  }),
});

const nullableString = t.Union([t.String(), t.Null()]);

export const UserEvents = t.Object({
  user_id: t.String(),
  events: t.Array(
    t.Object({
      stream: t.String({
        description: "`user-{id}`, or `session-{id}` for one of their sessions.",
      }),
      position: t.Integer({ description: "Position in the whole log." }),
      version: t.Integer({ description: "Version within its stream, from 1." }),
      type: t.String({
        description: "UserRegistered, RoleChanged, SessionStarted, SessionRevoked, ...",
      }),
      recorded_at: t.String({ format: "date-time" }),
      actor: t.Union([t.String(), t.Null()], { description: "The user id who made the change." }),
      request_id: nullableString,
      client_ip: nullableString,
      data: t.Unknown({ description: "The event's fields; hashes are stripped." }),
    }),
  ),
});

export const clientBasic = [{ client: [] }];

const dateTime = t.String({ format: "date-time" });

export const ClientInfo = t.Object({
  client_id: t.String({ examples: ["0199a8f2-7d10-7c3e-8f4b-2a9d6e1c5b38"] }),
  name: t.String({ examples: ["reports"] }),
  status: t.UnionEnum(["active", "revoked"]),
  created_at: dateTime,
  revoked_at: t.Union([dateTime, t.Null()]),
});

export const NewClient = t.Object({
  client_id: t.String({ examples: ["0199a8f2-7d10-7c3e-8f4b-2a9d6e1c5b38"] }),
  client_secret: t.String({
    description: "Shown in this answer only: the service keeps a hash of it.",
    examples: ["q3V8m1Yw0xK4cN7bR2tZ9pL6fH5jD3sA1uE8gW0oXyI"],
  }),
  name: t.String({ examples: ["reports"] }),
  created_at: dateTime,
});

export const ClientList = t.Object({ items: t.Array(ClientInfo) });

const epochSeconds = (description: string) => t.Integer({ minimum: 0, description });

export const Introspection = t.Union(
  [
    t.Object(
      { active: t.Literal(false) },
      { additionalProperties: false, description: "Any token protected routes would refuse." },
    ),
    t.Object(
      {
        active: t.Literal(true),
        token_type: t.UnionEnum(["access_token", "refresh_token"]),
        sub: t.String({ description: "The user's id." }),
        username: t.String(),
        role,
        sid: t.String({ description: "The session (one login) the token belongs to." }),
        jti: t.String(),
        iat: epochSeconds("Issued at, in seconds since the epoch."),
        exp: epochSeconds("Expires at, in seconds since the epoch."),
        iss: t.String(),
      },
      { description: "A token protected routes would accept now." },
    ),
  ],
  { description: "RFC 7662 section 2.2" },
);

/** RFC 7009 and 7662 requests; a client's own credentials go in the Authorization header. */
export const TokenParameters = t.Object(
  {
    token: t.String({ description: "An access or refresh token.", examples: ["eyJhbGciOi..."] }),
    token_type_hint: t.Optional(
      t.String({
        description: "access_token or refresh_token; ignored, since every token says its type.",
      }),
    ),
  },
  { additionalProperties: true },
);

const at = (description: string) =>
  t.String({ format: "date-time", description, examples: ["2026-12-01T09:30:00.000Z"] });

const nullableAt = (description: string) => t.Union([at(description), t.Null()], { description });

export const SessionItem = t.Object({
  id: t.String({
    description: "The session id; the session's tokens carry it as sid.",
    examples: ["0199a8f2-9b21-7d4e-a1c3-5e7f9b2d4c68"],
  }),
  created_at: at("When the login happened."),
  last_used_at: nullableAt("The last refresh; null before the first."),
  expires_at: at("When the session's refresh token expires."),
  ip: t.Union([t.String({ examples: ["203.0.113.7"] }), t.Null()]),
  user_agent: t.Union([
    t.String({ maxLength: 256, examples: ["Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"] }),
    t.Null(),
  ]),
  current: t.Boolean({ description: "The session of the token that made this request." }),
});

export const Sessions = t.Array(SessionItem, { description: "Live sessions, newest first." });

const status = t.Union([t.Literal("active"), t.Literal("disabled")]);

const userFields = {
  id: t.String({ format: "uuid", examples: ["0199a8f2-5c3e-7b41-9d2a-3f6e8c1b4a07"] }),
  username: t.String({ examples: ["alice"] }),
  role,
  status,
  created_at: at("When the user registered."),
  last_login_at: nullableAt("The last login; null before the first."),
  sessions: t.Integer({ minimum: 0, description: "How many live sessions the user has." }),
};

export const AdminUser = t.Object(userFields);

export const AdminUserPage = t.Object({
  items: t.Array(AdminUser),
  next_cursor: t.Union([t.String({ examples: ["dTo1MA"] }), t.Null()], {
    description: "Pass as cursor for the next page; null on the last page.",
  }),
});

export const AdminUserDetail = t.Object({
  ...userFields,
  live_sessions: t.Array(t.Omit(SessionItem, ["current"])),
});

const isoTime = "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}";

export const TokenInspectRequest = t.Object({
  token: t.String({ minLength: 1, maxLength: 4096, description: "An access token." }),
  at: t.Optional(
    t.String({
      maxLength: 64,
      pattern: isoTime,
      description: "an ISO 8601 date-time such as 2026-12-01T10:00:00Z",
      examples: ["2026-12-01T10:00:00Z"],
    }),
  ),
});

export const TokenInspection = t.Object({
  genuine: t.Boolean({
    description: "Signed by us: the secret, or a key of the ring (revoked ones too).",
  }),
  kid: t.Union([t.String(), t.Null()]),
  claims: t.Union([t.Record(t.String(), t.Unknown()), t.Null()], {
    description: "The token's claims, as signed; null when it is not genuine.",
  }),
  valid: t.Boolean({ description: "Whether protected routes would have accepted it at `at`." }),
  at: dateTime,
  code: t.Union([t.String(), t.Null()], {
    description: "Why it would have been refused, as a 401 says it; null when valid.",
    examples: ["role_changed"],
  }),
  caused_by: t.Union([
    t.Object({
      type: t.String({ examples: ["RoleChanged"] }),
      position: t.Integer(),
      recorded_at: dateTime,
      actor: nullableString,
    }),
    t.Null(),
  ]),
});

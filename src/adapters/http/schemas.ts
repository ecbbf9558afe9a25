// Not the package root: it replaces TypeBox's global format checks with slower zod/valibot ones.
import { withHeaders } from "@elysiajs/openapi/openapi";
import { t } from "elysia";

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
  },
  { description: "RFC 9457 problem details" },
);

export const problemRef = "#/components/schemas/Problem";

export const problemMarker = "x-problem";

export const bearer = [{ bearer: [] }];
export const refreshCookie = [{ refresh_token: [] }];

/** Elysia never checks a ready Response against a model: hence the static type. */
export const problems = <const D extends Readonly<Record<number, string>>>(described: D) =>
  Object.fromEntries(
    Object.entries(described).map(([status, description]) => [
      status,
      t.Unsafe<Response>({ ...Problem, description, [problemMarker]: true }),
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

export const Token = withHeaders(
  t.Object({
    access_token: t.String({ description: "A JWT (HS256) for Authorization: Bearer." }),
    token_type: t.Literal("bearer"),
    expires_in: t.Integer({ description: "Seconds until the access token expires." }),
  }),
  refreshSetCookie,
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

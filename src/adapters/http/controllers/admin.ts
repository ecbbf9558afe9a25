import { Elysia, t } from "elysia";
import { changeRole } from "../../../application/changeRole.ts";
import { type Inspection, inspectToken } from "../../../application/inspectToken.ts";
import { type AuditEntry, userEvents } from "../../../application/userEvents.ts";
import { invalidFields } from "../errors.ts";
import {
  bearer,
  bodyProblems,
  problems,
  TokenInspection,
  TokenInspectRequest,
  tokenProblems,
  User,
  UserEvents,
} from "../schemas.ts";
import type { Deps } from "./deps.ts";
import { userBody } from "./views.ts";

const eventBody = (entry: AuditEntry) => ({
  stream: entry.stream,
  position: entry.position,
  version: entry.version,
  type: entry.type,
  recorded_at: entry.recordedAt.toISOString(),
  actor: entry.actor,
  request_id: entry.requestId,
  client_ip: entry.clientIp,
  data: entry.data,
});

export const inspectionBody = (inspection: Inspection) => ({
  genuine: inspection.genuine,
  kid: inspection.kid,
  claims: inspection.claims,
  valid: inspection.valid,
  at: inspection.at.toISOString(),
  code: inspection.code,
  caused_by:
    inspection.causedBy === null
      ? null
      : {
          type: inspection.causedBy.type,
          position: inspection.causedBy.position,
          recorded_at: inspection.causedBy.recordedAt.toISOString(),
          actor: inspection.causedBy.actor,
        },
});

export const adminController = ({ run, guard, bodies, context }: Deps) =>
  new Elysia({ name: "admin-controller" })
    .use(guard)
    .use(bodies)
    .use(context)
    .post(
      "/auth/change-role",
      ({ body, principal, metadata }) =>
        run(
          changeRole(
            { username: body.username, role: body.role },
            { admin: principal.sub },
            metadata,
          ),
          userBody,
        ),
      {
        role: "admin",
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
          responses: { 200: { description: "The user with the new role." } },
        },
      },
    )
    .get(
      "/admin/users/:id/events",
      ({ params, principal }) =>
        run(userEvents(params.id, { principal }), (entries) => ({
          user_id: params.id,
          events: entries.map(eventBody),
        })),
      {
        role: "admin",
        params: t.Object({
          id: t.String({
            maxLength: 64,
            description: "The user's id, as register and GET /auth/me answer it.",
            examples: ["0199a8f2-5c3e-7b41-9d2a-3f6e8c1b4a07"],
          }),
        }),
        response: {
          200: UserEvents,
          ...problems({
            ...tokenProblems,
            403: "The caller is not an admin.",
            404: "No such user.",
            422: "id is longer than 64 characters (checked before the token).",
          }),
        },
        detail: {
          summary: "Admin: a user's and their sessions' events, oldest first, hashes stripped",
          security: bearer,
          responses: {
            200: { description: "The audit trail: who changed what, when, from where." },
          },
        },
      },
    )
    .post(
      "/admin/tokens/inspect",
      ({ body }) => {
        const atMs = body.at === undefined ? undefined : Date.parse(body.at);
        if (Number.isNaN(atMs)) {
          return invalidFields([{ field: "at", message: "an ISO 8601 date-time" }]);
        }
        return run(inspectToken(body.token, atMs), inspectionBody);
      },
      {
        role: "admin",
        body: TokenInspectRequest,
        response: {
          200: TokenInspection,
          ...problems({
            ...bodyProblems,
            ...tokenProblems,
            403: "The caller is not an admin.",
            422: "token is missing or a refresh token, or at is not an ISO 8601 date-time.",
            503: "The event store did not answer in time.",
          }),
        },
        detail: {
          summary: "Admin: would this access token have been accepted at a given time, and why not",
          description:
            "Decided from the log: the events of the token's user, its session and the signing keys recorded up to `at` (default now), not the Redis projection. Works for tokens that have expired since; expiry is judged against `at`. `caused_by` names the event that refused it.",
          security: bearer,
          responses: { 200: { description: "The verdict at `at`, and its cause." } },
        },
      },
    );

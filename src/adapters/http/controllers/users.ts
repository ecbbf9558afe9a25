import { Elysia, t } from "elysia";
import {
  disableUser,
  enableUser,
  getUser,
  listUsers,
  logoutUser,
} from "../../../application/accounts.ts";
import { eraseUser } from "../../../application/erase.ts";
import {
  AdminUser,
  AdminUserDetail,
  AdminUserPage,
  bearer,
  bodyProblems,
  problems,
  tokenProblems,
} from "../schemas.ts";
import type { Deps } from "./deps.ts";
import { adminUserBody, noContent, sessionBody } from "./views.ts";

const id = t.Object({
  id: t.String({
    maxLength: 64,
    description: "The user's id, as register and GET /auth/me answer it.",
    examples: ["0199a8f2-5c3e-7b41-9d2a-3f6e8c1b4a07"],
  }),
});

const adminProblems = {
  ...tokenProblems,
  403: "The caller is not an admin.",
  404: "No such user.",
} as const;

export const usersController = ({ run, guard, bodies, context }: Deps) =>
  new Elysia({ name: "users-controller" })
    .use(guard)
    .use(bodies)
    .use(context)
    .get(
      "/admin/users",
      ({ query }) =>
        run(listUsers(query), (page) => ({
          items: page.items.map(adminUserBody),
          next_cursor: page.nextCursor,
        })),
      {
        role: "admin",
        query: t.Object({
          q: t.Optional(t.String({ description: "A substring of the username, any case." })),
          role: t.Optional(t.String({ description: "user or admin", examples: ["admin"] })),
          status: t.Optional(t.String({ description: "active or disabled", examples: ["active"] })),
          limit: t.Optional(t.String({ description: "1 to 100 (default 50)", examples: ["50"] })),
          cursor: t.Optional(t.String({ description: "The next_cursor of the previous page." })),
        }),
        response: {
          200: AdminUserPage,
          ...problems({
            ...tokenProblems,
            403: "The caller is not an admin.",
            422: "A parameter is out of range, or the cursor is not one this API returned.",
            503: "The user directory or token state cannot be read right now.",
          }),
        },
        detail: {
          summary: "Admin: users in creation order, oldest first, a page at a time",
          security: bearer,
          responses: { 200: { description: "A page of users; may trail a write by a moment." } },
        },
      },
    )
    .get(
      "/admin/users/:id",
      ({ params }) =>
        run(getUser(params.id), (user) => ({
          ...adminUserBody(user),
          live_sessions: user.liveSessions.map(sessionBody),
        })),
      {
        role: "admin",
        params: id,
        response: {
          200: AdminUserDetail,
          ...problems({ ...adminProblems, 422: "id is longer than 64 characters." }),
        },
        detail: {
          summary: "Admin: one user, with their live sessions",
          security: bearer,
          responses: { 200: { description: "The user." } },
        },
      },
    )
    .delete(
      "/admin/users/:id",
      ({ params, principal, metadata }) =>
        run(eraseUser(params.id, { admin: principal.sub }, metadata), noContent),
      {
        role: "admin",
        params: id,
        response: problems({
          ...adminProblems,
          404: "No such user (or it is erased already).",
          409: "That would leave no active admin.",
          422: "id is longer than 64 characters.",
        }),
        detail: {
          summary: "Admin: erase a user; personal data destroyed, every token dies at once",
          description:
            "Destroys the user's data key (crypto-shredding) and appends UserErased: the audit trail shows the user's personal fields as \"[erased]\", the directory forgets the user, the username can be registered again.",
          security: bearer,
          responses: { 204: { description: "Erased." } },
        },
      },
    )
    .post(
      "/admin/users/:id/disable",
      ({ params, body, principal, metadata }) =>
        run(
          disableUser(
            params.id,
            { reason: body.reason, until: body.until },
            { admin: principal.sub },
            metadata,
          ),
          adminUserBody,
        ),
      {
        role: "admin",
        params: id,
        body: t.Object({
          reason: t.String({ maxLength: 1024, examples: ["left the company"] }),
          until: t.Optional(
            t.String({
              maxLength: 64,
              description:
                "When the account works again by itself (RFC 3339); absent: until enabled.",
              examples: ["2027-01-01T00:00:00Z"],
            }),
          ),
        }),
        response: {
          200: AdminUser,
          ...problems({
            ...bodyProblems,
            ...adminProblems,
            409: "That would leave no active admin.",
            422: "reason is empty or too long, or until is not a future date-time.",
          }),
        },
        detail: {
          summary: "Admin: disable an account; every token of the user stops working at once",
          security: bearer,
          responses: { 200: { description: "The user, status disabled." } },
        },
      },
    )
    .post(
      "/admin/users/:id/enable",
      ({ params, principal, metadata }) =>
        run(enableUser(params.id, { admin: principal.sub }, metadata), adminUserBody),
      {
        role: "admin",
        params: id,
        response: {
          200: AdminUser,
          ...problems({ ...bodyProblems, ...adminProblems, 409: "Too many changes at once." }),
        },
        detail: {
          summary: "Admin: enable a disabled account (its old tokens stay dead)",
          security: bearer,
          responses: { 200: { description: "The user, status active." } },
        },
      },
    )
    .post(
      "/admin/users/:id/logout",
      ({ params, principal, metadata }) =>
        run(logoutUser(params.id, { admin: principal.sub }, metadata), noContent),
      {
        role: "admin",
        params: id,
        response: problems({ ...bodyProblems, ...adminProblems, 409: "Too many changes at once." }),
        detail: {
          summary: "Admin: end every session of a user",
          security: bearer,
          responses: { 204: { description: "Every token of the user stopped working." } },
        },
      },
    );

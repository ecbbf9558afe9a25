import { Elysia, t } from "elysia";
import { endOwnSession, listSessions, logoutOthers } from "../../../application/mySessions.ts";
import { bearer, bodyProblems, problems, Sessions, tokenProblems } from "../schemas.ts";
import type { Deps } from "./deps.ts";
import { noContent, sessionBody } from "./views.ts";

export const sessionsController = ({ run, guard, bodies, context }: Deps) =>
  new Elysia({ name: "sessions-controller" })
    .use(guard)
    .use(bodies)
    .use(context)
    .get(
      "/auth/sessions",
      ({ principal }) =>
        run(listSessions(principal), (sessions) =>
          sessions.map((session) => ({ ...sessionBody(session), current: session.current })),
        ),
      {
        role: "any",
        response: { 200: Sessions, ...problems(tokenProblems) },
        detail: {
          summary: "The caller's live sessions, newest first (may trail a login by a moment)",
          security: bearer,
          responses: { 200: { description: "One entry per login still live." } },
        },
      },
    )
    .delete(
      "/auth/sessions/:id",
      ({ params, principal, metadata }) =>
        run(endOwnSession(principal, params.id, metadata), noContent),
      {
        role: "any",
        params: t.Object({
          id: t.String({
            maxLength: 64,
            description: "A session id from GET /auth/sessions.",
            examples: ["0199a8f2-9b21-7d4e-a1c3-5e7f9b2d4c68"],
          }),
        }),
        response: problems({
          ...tokenProblems,
          404: "Not one of the caller's live sessions (unknown, ended, or another user's).",
          409: "Too many changes at once; retry shortly.",
          422: "id is longer than 64 characters.",
        }),
        detail: {
          summary: "End one of the caller's sessions: its tokens stop working at once",
          security: bearer,
          responses: { 204: { description: "The session ended." } },
        },
      },
    )
    .post(
      "/auth/logout-others",
      ({ principal, metadata }) => run(logoutOthers(principal, metadata), noContent),
      {
        role: "any",
        response: problems({
          ...bodyProblems,
          ...tokenProblems,
          409: "Too many changes at once; retry shortly.",
        }),
        detail: {
          summary: "End every other session of the caller; this one keeps working",
          security: bearer,
          responses: { 204: { description: "Every other session of the caller ended." } },
        },
      },
    );

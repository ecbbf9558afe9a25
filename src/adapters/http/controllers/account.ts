import { Elysia, t } from "elysia";
import { changePassword } from "../../../application/changePassword.ts";
import { eraseMe } from "../../../application/erase.ts";
import { logoutAll } from "../../../application/logoutAll.ts";
import { me } from "../../../application/me.ts";
import { bearer, bodyProblems, problems, Token, tokenProblems, User } from "../schemas.ts";
import type { Deps } from "./deps.ts";
import { noContent, userBody } from "./views.ts";

export const accountController = ({ run, guard, bodies, context, cookies }: Deps) =>
  new Elysia({ name: "account-controller" })
    .use(guard)
    .use(bodies)
    .use(context)
    .get("/auth/me", ({ principal }) => run(me(principal), userBody), {
      role: "any",
      response: { 200: User, ...problems(tokenProblems) },
      detail: {
        summary: "The caller's account",
        security: bearer,
        responses: { 200: { description: "The caller." } },
      },
    })
    .delete(
      "/auth/me",
      ({ body, principal, metadata, cookie }) =>
        run(eraseMe(principal, body.password, metadata), () => {
          cookies.clear(cookie);
          return noContent();
        }),
      {
        role: "any",
        body: t.Object({
          password: t.String({ maxLength: 1024, examples: ["correct horse battery"] }),
        }),
        response: problems({
          ...bodyProblems,
          ...tokenProblems,
          401: "No valid access token, or password is wrong.",
          409: "The caller is the last active admin, or the account changed meanwhile.",
          422: "password is missing or not a string.",
          429: "Too many wrong passwords for this user or from this client; see Retry-After.",
        }),
        detail: {
          summary: "Erase the caller's account: personal data destroyed, every token dies",
          description:
            "Destroys the caller's data key (crypto-shredding): the username, IP addresses and user agents in the log can no longer be read, and the username can be registered again.",
          security: bearer,
          responses: {
            204: { description: "Erased; every token of the caller stopped working." },
          },
        },
      },
    )
    .post(
      "/auth/logout-all",
      ({ principal, metadata }) => run(logoutAll(principal, metadata), noContent),
      {
        role: "any",
        // It takes no body, but one sent still goes through the shared parser.
        response: problems({ ...bodyProblems, ...tokenProblems }),
        detail: {
          summary: "End every login of the caller",
          security: bearer,
          responses: {
            204: { description: "Every token of every session of the caller stopped working." },
          },
        },
      },
    )
    .post(
      "/auth/change-password",
      ({ body, principal, metadata, cookie }) =>
        run(
          changePassword(
            principal,
            { currentPassword: body.current_password, newPassword: body.new_password },
            metadata,
          ),
          cookies.tokens(cookie),
        ),
      {
        role: "any",
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
            409: "Another request changed the account meanwhile.",
            422: "new_password breaks the password rules (errors[] names it).",
            429: "Too many wrong current passwords for this user or from this client; see Retry-After.",
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
    );

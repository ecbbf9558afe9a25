import { Elysia } from "elysia";
import { RoleRequired } from "../../../application/errors.ts";
import type { AccessClaims } from "../../../application/ports/Tokens.ts";
import { isRole, type Role, roles } from "../../../domain/Role.ts";
import { invalidFields, toProblem } from "../errors.ts";
import { bearer, problems, tokenProblems } from "../schemas.ts";
import type { Deps } from "./deps.ts";

const roleRule = `one of ${roles.join(", ")}, given once`;

/** The `role` a request asks for; the URL is parsed only when it has a query at all. */
const roleAsked = (url: string): Role | undefined | Response => {
  const start = url.indexOf("?");
  if (start < 0) return undefined;
  const given = new URLSearchParams(url.slice(start + 1)).getAll("role");
  if (given.length === 0) return undefined;
  const [role] = given;
  return given.length === 1 && isRole(role)
    ? role
    : invalidFields([{ field: "role", message: roleRule }]);
};

/** Names a proxy passes on to the service behind it, Authelia's among them. */
const identity = (claims: AccessClaims) => ({
  "x-auth-user-id": claims.sub,
  "x-auth-username": claims.username,
  "x-auth-role": claims.role,
  "x-auth-session-id": claims.sid,
  "remote-user": claims.username,
  "remote-groups": claims.role,
});

const identityHeaders = Object.fromEntries(
  [
    ["X-Auth-User-Id", "The user's id."],
    ["X-Auth-Username", "The username."],
    ["X-Auth-Role", "user or admin."],
    ["X-Auth-Session-Id", "The session (one login) the token belongs to."],
    ["Remote-User", "The username, under Authelia's name."],
    ["Remote-Groups", "The role, under Authelia's name."],
  ].map(([name, description]) => [name, { description, schema: { type: "string" } }]),
);

/**
 * Forward auth for reverse proxies (nginx auth_request, Traefik ForwardAuth, Caddy
 * forward_auth): the guard's own check, answered as headers.
 */
export const forwardAuthController = ({ guard }: Deps) =>
  new Elysia({ name: "forward-auth-controller" }).use(guard).get(
    "/auth/verify",
    ({ principal, request, set }) => {
      const role = roleAsked(request.url);
      if (role instanceof Response) return role;
      if (role !== undefined && principal.role !== role) {
        return toProblem(new RoleRequired({ role }));
      }
      // On `set`, not a Response of its own: Elysia would copy that into another one.
      Object.assign(set.headers, identity(principal));
      return "";
    },
    {
      role: "any",
      response: problems({
        ...tokenProblems,
        403: "The token is live, but its role is not the one ?role= asks for.",
        422: `role is not ${roleRule}.`,
      }),
      detail: {
        summary: "Forward auth: 200 and the caller's identity as headers when the token is live",
        description:
          "For a reverse proxy in front of other services (nginx `auth_request`, Traefik ForwardAuth, Caddy `forward_auth`): the same check as every protected route, with the access token from `Authorization: Bearer`. The proxy passes the `X-Auth-*` headers on to the service.",
        security: bearer,
        parameters: [
          {
            name: "role",
            in: "query",
            required: false,
            description: "Only this role passes; the other gets 403.",
            schema: { type: "string", enum: [...roles] },
            example: "admin",
          },
        ],
        responses: {
          200: { description: "The token is live: the body is empty.", headers: identityHeaders },
        },
      },
    },
  );

import { Elysia, t } from "elysia";
import {
  type ClientView,
  type CreatedClient,
  createClient,
  listClients,
  revokeClient,
} from "../../../application/clients.ts";
import { noStore } from "../oauth2.ts";
import {
  bearer,
  bodyProblems,
  ClientList,
  NewClient,
  problems,
  tokenProblems,
} from "../schemas.ts";
import type { Deps } from "./deps.ts";
import { noContent } from "./views.ts";

const clientBody = (client: ClientView) => ({
  client_id: client.id,
  name: client.name,
  status: client.revokedAt === null ? ("active" as const) : ("revoked" as const),
  created_at: client.createdAt.toISOString(),
  revoked_at: client.revokedAt?.toISOString() ?? null,
});

const createdBody = (client: CreatedClient) => ({
  client_id: client.id,
  client_secret: client.secret,
  name: client.name,
  created_at: client.createdAt.toISOString(),
});

const adminOnly = "The caller is not an admin.";

/** The resource servers that may call POST /oauth/introspect. */
export const clientsController = ({ run, guard, bodies, context }: Deps) =>
  new Elysia({ name: "clients-controller" })
    .use(guard)
    .use(bodies)
    .use(context)
    .post(
      "/admin/clients",
      ({ body, principal, metadata, set }) =>
        run(createClient(body.name, { ...metadata, actor: principal.sub }), (client) => {
          set.status = 201;
          // The answer carries a secret: no cache may keep it.
          Object.assign(set.headers, noStore);
          return createdBody(client);
        }),
      {
        role: "admin",
        body: t.Object({
          name: t.String({
            maxLength: 256,
            description: "What the client is, for people: 1 to 64 characters.",
            examples: ["reports"],
          }),
        }),
        response: {
          201: NewClient,
          ...problems({
            ...bodyProblems,
            ...tokenProblems,
            403: adminOnly,
            422: "name is missing, empty, longer than 64 characters or has control characters.",
          }),
        },
        detail: {
          summary: "Admin: register a client (a resource server that introspects tokens)",
          security: bearer,
          responses: {
            201: { description: "The client; its secret is in this answer and never again." },
          },
        },
      },
    )
    .get(
      "/admin/clients",
      () => run(listClients, (clients) => ({ items: clients.map(clientBody) })),
      {
        role: "admin",
        response: { 200: ClientList, ...problems({ ...tokenProblems, 403: adminOnly }) },
        detail: {
          summary: "Admin: every client, revoked ones too, oldest first; never a secret",
          security: bearer,
          responses: { 200: { description: "The clients." } },
        },
      },
    )
    .delete(
      "/admin/clients/:id",
      ({ params, metadata, principal }) =>
        run(revokeClient(params.id, { ...metadata, actor: principal.sub }), noContent),
      {
        role: "admin",
        params: t.Object({
          id: t.String({
            maxLength: 64,
            description: "The client_id.",
            examples: ["0199a8f2-7d10-7c3e-8f4b-2a9d6e1c5b38"],
          }),
        }),
        response: problems({
          ...tokenProblems,
          403: adminOnly,
          404: "No such client.",
          422: "id is longer than 64 characters (checked after the token).",
        }),
        detail: {
          summary: "Admin: revoke a client; its credentials are refused from the next call on",
          security: bearer,
          responses: {
            204: { description: "Revoked (also when it already was)." },
          },
        },
      },
    );

import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
// Not the package root: it replaces TypeBox's global format checks with slower zod/valibot ones.
import { toOpenAPISchema } from "@elysiajs/openapi/openapi";
import { type AnyElysia, Elysia } from "elysia";
import packageJson from "../../../package.json" with { type: "json" };
import { expectation, type Schema } from "./errors.ts";
import { problemBody } from "./problem.ts";
import {
  OAuthError,
  oauthErrorRef,
  oauthMarker,
  Problem,
  problemMarker,
  problemRef,
} from "./schemas.ts";

const title = "authlog";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Elysia's numeric schemas also take numeric strings (coercion); on the wire they are numbers. */
const coercionFormats = new Set(["integer", "numeric"]);

const collapseCoercion = (value: Json): Json => {
  if (Array.isArray(value)) return value.map(collapseCoercion);
  if (!isObject(value)) return value;
  const out: JsonObject = Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [key, collapseCoercion(inner)]),
  );
  const anyOf = out.anyOf;
  if (!Array.isArray(anyOf) || anyOf.length !== 2) return out;
  const [text, number] = anyOf;
  if (
    !isObject(text) ||
    !isObject(number) ||
    text.type !== "string" ||
    !coercionFormats.has(String(text.format)) ||
    (number.type !== "integer" && number.type !== "number")
  ) {
    return out;
  }
  const { anyOf: _, ...outer } = out;
  return { ...outer, ...number };
};

type Route = {
  readonly method: string;
  readonly path: string;
  readonly hooks?: { readonly detail?: unknown; readonly body?: unknown };
};

const globalRoutes = (app: AnyElysia) =>
  (app as unknown as { getGlobalRoutes: () => Route[] }).getGlobalRoutes();

const header = (description: string): JsonObject => ({ description, schema: { type: "string" } });

const problemHeaders: Record<string, JsonObject> = {
  "401": {
    "WWW-Authenticate": header(
      'Bearer realm="authlog", with error= when a token was sent; Basic on /oauth/introspect.',
    ),
  },
  "429": { "Retry-After": header("Seconds to wait before retrying.") },
  "503": { "Retry-After": header("Seconds to wait before retrying.") },
};

/** What a request must carry first, as a 422 names it: a body field, else a parameter. */
const firstInput = (operation: JsonObject): { name: string; schema: JsonObject } | undefined => {
  const body = isObject(operation.requestBody) ? operation.requestBody.content : undefined;
  const json = isObject(body) ? body["application/json"] : undefined;
  const schema = isObject(json) ? json.schema : undefined;
  if (isObject(schema) && isObject(schema.properties) && Array.isArray(schema.required)) {
    const name = String(schema.required[0] ?? "");
    const field = schema.properties[name];
    if (isObject(field)) return { name, schema: field };
  }
  const parameters = Array.isArray(operation.parameters) ? operation.parameters : [];
  const parameter = parameters.find((p) => isObject(p) && p.required === true);
  return isObject(parameter) && isObject(parameter.schema)
    ? { name: String(parameter.name), schema: parameter.schema }
    : undefined;
};

/** The answer as the API builds it, its detail this route's own sentence for the status. */
const problemExample = (status: string, description: string, operation: JsonObject): Json => {
  const input = status === "422" ? firstInput(operation) : undefined;
  // A rule's own words where it has them, else the answer to that input left out.
  const schema = input?.schema as Schema | undefined;
  const message = schema?.description ?? expectation(schema ? { schema } : {});
  const errors = input ? { errors: [{ field: input.name, message }] } : {};
  return JSON.parse(JSON.stringify(problemBody(Number(status), description, errors)));
};

const asProblem = (status: string, response: Json, operation: JsonObject): Json => {
  if (!isObject(response) || !isObject(response.content)) return response;
  const json = response.content["application/json"];
  if (!isObject(json) || !isObject(json.schema) || json.schema[problemMarker] !== true) {
    return response;
  }
  const headers = problemHeaders[status];
  const oauth = json.schema[oauthMarker] === true;
  const description = typeof response.description === "string" ? response.description : "";
  return {
    description,
    ...(headers ? { headers } : {}),
    content: {
      "application/problem+json": {
        schema: { $ref: problemRef },
        example: problemExample(status, description, operation),
      },
      ...(oauth ? { "application/json": { schema: { $ref: oauthErrorRef } } } : {}),
    },
  };
};

/** Viewers show a parameter's own `example`; the models carry JSON Schema `examples`. */
const withExample = (parameter: Json): Json => {
  if (!isObject(parameter) || !isObject(parameter.schema)) return parameter;
  const examples = parameter.schema.examples;
  return Array.isArray(examples) && examples.length > 0
    ? { ...parameter, example: examples[0] ?? null }
    : parameter;
};

export const openApiDocument = (app: AnyElysia): JsonObject => {
  // Its default leaves out every path with a dot, as static files: /.well-known/jwks.json too.
  const generated = JSON.parse(JSON.stringify(toOpenAPISchema(app, { staticFile: false }))) as {
    paths: Record<string, Record<string, JsonObject>>;
    components: { schemas: JsonObject };
  };
  // `response` models replace detail.responses, where the problems and descriptions live.
  for (const route of globalRoutes(app)) {
    const documented = (route.hooks?.detail as { responses?: JsonObject } | undefined)?.responses;
    const path = route.path.replace(/:([^/]+)/g, "{$1}");
    const operation = generated.paths[path]?.[route.method.toLowerCase()];
    if (!operation) continue;
    // The app's own parser (JSON or form, anything else 415) hides the body from the generator.
    if (typeof route.hooks?.body === "object" && route.hooks.body !== null) {
      const schema = JSON.parse(JSON.stringify(route.hooks.body)) as JsonObject;
      operation.requestBody = {
        // A body whose every field is optional may be left out.
        required: Array.isArray(schema.required) && schema.required.length > 0,
        content: {
          "application/json": { schema },
          "application/x-www-form-urlencoded": { schema },
        },
      };
    }
    if (!documented) continue;
    const modelled = isObject(operation.responses) ? operation.responses : {};
    const merged: JsonObject = { ...documented };
    for (const [status, response] of Object.entries(modelled)) {
      const described = documented[status];
      merged[status] =
        isObject(described) && isObject(response)
          ? { ...response, description: described.description ?? response.description ?? "" }
          : response;
    }
    operation.responses = merged;
  }
  const paths: JsonObject = {};
  for (const [path, item] of Object.entries(generated.paths)) {
    const operations: JsonObject = {};
    for (const [method, operation] of Object.entries(item)) {
      const responses = isObject(operation.responses) ? operation.responses : {};
      const { hide: _, ...rest } = operation;
      operations[method] = {
        tags: [path.split("/")[1] ?? "api"],
        ...rest,
        ...(Array.isArray(operation.parameters)
          ? { parameters: operation.parameters.map(withExample) }
          : {}),
        responses: Object.fromEntries(
          Object.entries(responses)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([status, response]) => [status, asProblem(status, response, operation)]),
        ),
      };
    }
    paths[path] = operations;
  }
  return collapseCoercion({
    openapi: "3.1.0",
    info: {
      title,
      version: packageJson.version,
      description: [
        "Event-sourced authentication: register, log in for a short-lived access token (JWT,",
        "`Authorization: Bearer`) and a rotating refresh token in an HttpOnly cookie, log out one",
        "session or all of them. Every error is `application/problem+json` (RFC 9457).",
      ].join(" "),
    },
    tags: [
      { name: "auth", description: "Accounts, tokens and sessions" },
      { name: "secure", description: "Resources that need an access token" },
      { name: "admin", description: "Admin only" },
      {
        name: "oauth",
        description: "Token introspection (RFC 7662) and revocation (RFC 7009) for other services",
      },
      { name: ".well-known", description: "Discovery: the signing keys and server metadata" },
      { name: "health", description: "Liveness and readiness" },
      { name: "metrics", description: "Prometheus metrics" },
    ],
    paths,
    components: {
      schemas: {
        ...generated.components.schemas,
        Problem: JSON.parse(JSON.stringify(Problem)),
        OAuthError: JSON.parse(JSON.stringify(OAuthError)),
      },
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "The access_token from POST /auth/login (or /auth/token, /auth/refresh).",
        },
        oauth2: {
          type: "oauth2",
          description:
            "Username and password at POST /auth/token (RFC 6749 password grant); the access " +
            "token it answers goes in the Authorization header. The token endpoint asks for no " +
            "client: client_id and client_secret may stay empty, and scopes are ignored.",
          flows: { password: { tokenUrl: "/auth/token", refreshUrl: "/auth/token", scopes: {} } },
        },
        client: {
          type: "http",
          scheme: "basic",
          description:
            "client_id and client_secret of a client made with `cli clients create` or POST /admin/clients.",
        },
        refresh_token: {
          type: "apiKey",
          in: "cookie",
          name: "refresh_token",
          description:
            "The HttpOnly cookie that login and refresh set (Path=/auth); the browser sends it.",
        },
      },
    },
  }) as JsonObject;
};

const assetFile = (specifier: string) => fileURLToPath(import.meta.resolve(specifier));

const assets: Record<string, { readonly file: string; readonly type: string }> = {
  "/docs/swagger-ui.css": {
    file: assetFile("swagger-ui-dist/swagger-ui.css"),
    type: "text/css; charset=utf-8",
  },
  "/docs/swagger-ui-bundle.js": {
    file: assetFile("swagger-ui-dist/swagger-ui-bundle.js"),
    type: "text/javascript; charset=utf-8",
  },
  "/redoc/redoc.standalone.js": {
    file: assetFile("redoc/bundles/redoc.standalone.js"),
    type: "text/javascript; charset=utf-8",
  },
};

/** ReDoc always draws its badge from its CDN, with no option to stop it: an empty image here. */
const offline = (path: string, bytes: Uint8Array): Uint8Array =>
  path === "/redoc/redoc.standalone.js"
    ? new TextEncoder().encode(
        new TextDecoder()
          .decode(bytes)
          .replace(
            '"https://cdn.redoc.ly/redoc/logo-mini.svg"',
            JSON.stringify("data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"),
          ),
      )
    : bytes;

// Network requests stay on this origin: the pages work offline and nothing phones home. ReDoc
// runs its search in a worker made from a blob, and both viewers set inline styles.
const pageSecurity =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
  "font-src 'self' data:; connect-src 'self'; worker-src blob:; frame-ancestors 'none'; " +
  "base-uri 'none'; form-action 'none'";

const html = (body: string) =>
  new Response(body, {
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": pageSecurity,
    },
  });

const script = (source: string) =>
  new Response(source, { headers: { "content-type": "text/javascript; charset=utf-8" } });

const page = (title: string, head: string, body: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" href="data:,">
${head}
</head>
<body>
${body}
</body>
</html>
`;

const swaggerInit = `window.ui = SwaggerUIBundle({
  url: "/docs/json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
});
`;

export const docs = () => {
  const hidden = { detail: { hide: true } };
  const loaded = new Map<string, Promise<Uint8Array>>();
  const asset = async (path: string) => {
    const entry = assets[path];
    if (!entry) return new Response(null, { status: 404 });
    let bytes = loaded.get(path);
    if (!bytes) {
      bytes = readFile(entry.file).then((read) => offline(path, read));
      loaded.set(path, bytes);
    }
    return new Response(await bytes, {
      headers: { "content-type": entry.type, "cache-control": "public, max-age=86400" },
    });
  };
  let document: { routes: number; json: JsonObject } | undefined;

  const plugin = new Elysia({ name: "docs" });
  return plugin
    .get(
      "/docs",
      () =>
        html(
          page(
            `${title}: Swagger UI`,
            '<link rel="stylesheet" href="/docs/swagger-ui.css">',
            [
              '<div id="swagger-ui"></div>',
              '<script src="/docs/swagger-ui-bundle.js"></script>',
              '<script src="/docs/swagger-init.js"></script>',
            ].join("\n"),
          ),
        ),
      hidden,
    )
    .get(
      "/docs/json",
      () => {
        const routes = globalRoutes(plugin).length;
        if (document?.routes !== routes) {
          document = { routes, json: openApiDocument(plugin) };
        }
        return document.json;
      },
      hidden,
    )
    .get(
      "/redoc",
      () =>
        html(
          page(
            `${title}: API reference`,
            "<style>body { margin: 0; }</style>",
            // The standalone bundle renders any <redoc spec-url> it finds: no script of ours.
            [
              '<redoc spec-url="/docs/json"></redoc>',
              '<script src="/redoc/redoc.standalone.js"></script>',
            ].join("\n"),
          ),
        ),
      hidden,
    )
    .get("/docs/swagger-init.js", () => script(swaggerInit), hidden)
    .get("/docs/swagger-ui.css", ({ path }) => asset(path), hidden)
    .get("/docs/swagger-ui-bundle.js", ({ path }) => asset(path), hidden)
    .get("/redoc/redoc.standalone.js", ({ path }) => asset(path), hidden);
};

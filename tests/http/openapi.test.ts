import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { compileErrors, validate } from "@readme/openapi-parser";
// A JSON Schema 2020-12 validator, the dialect of OpenAPI 3.1 (installed with the parser).
import Ajv2020 from "ajv/dist/2020.js";
import { client, startApp } from "../support/app.ts";

type Schema = {
  type?: string;
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  minimum?: number;
  maximum?: number;
  enum?: unknown[];
  pattern?: string;
};
type Response = {
  description: string;
  headers?: Record<string, unknown>;
  content?: Record<string, { schema: Schema & { $ref?: string }; example?: unknown }>;
};
type Operation = {
  summary?: string;
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: string; schema: Schema; example?: unknown }[];
  requestBody?: { content: Record<string, unknown> };
  responses: Record<string, Response>;
};
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; securitySchemes: Record<string, unknown> };
};

const maxN = 4321;

/** The routes the spec says need an access token. */
const bearerRoutes = [
  "POST /auth/logout-all",
  "GET /auth/me",
  "GET /secure/data",
  "GET /secure/heavy-task",
  "POST /auth/change-password",
  "POST /auth/change-role",
  "GET /admin/users/{id}/events",
  "GET /admin/keys",
  "POST /admin/keys/rotate",
  "POST /admin/keys/{kid}/revoke",
];

describe("OpenAPI document", () => {
  let ctx: Awaited<ReturnType<typeof startApp>>;
  let doc: Document;

  const operation = (route: string): Operation => {
    const [method = "", path = ""] = route.split(" ");
    const found = doc.paths[path]?.[method.toLowerCase()];
    if (!found) throw new Error(`${route} is not in the document`);
    return found;
  };

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({
        route: `${method.toUpperCase()} ${path}`,
        op,
      })),
    );

  const isProblem = (response: Response | undefined) =>
    response?.content?.["application/problem+json"]?.schema.$ref === "#/components/schemas/Problem";

  beforeAll(async () => {
    ctx = await startApp("openapi", "embedded", { HEAVY_TASK_MAX_N: String(maxN) });
    const reply = await client(ctx.app).call("GET", "/docs/json");
    expect(reply.status).toBe(200);
    doc = reply.body as unknown as Document;
  });
  afterAll(() => ctx.close());

  test("is a valid OpenAPI 3.1 document", async () => {
    expect(doc.openapi).toStartWith("3.1.");
    const result = await validate(structuredClone(doc) as never);
    if (!result.valid) throw new Error(compileErrors(result));
    expect(result.valid).toBe(true);
  });

  test("has every route of the app, each with a summary and a success response", () => {
    const routes = ctx.app.routes.filter(
      (route) => !(route.hooks.detail as { hide?: boolean } | undefined)?.hide,
    );
    expect(routes.length).toBeGreaterThanOrEqual(15);
    for (const route of routes) {
      const op = operation(`${route.method} ${route.path.replace(/:([^/]+)/g, "{$1}")}`);
      expect(op.summary, route.path).toBeString();
      expect(
        Object.keys(op.responses).some((status) => /^2\d\d$/.test(status)),
        route.path,
      ).toBe(true);
    }
    expect(operations().length).toBe(routes.length);
  });

  test("the docs pages and their assets are not in it", () => {
    for (const path of Object.keys(doc.paths)) expect(path).not.toMatch(/^\/(docs|redoc)/);
  });

  test("protected routes require the bearer scheme and document the 401 problem", () => {
    expect(doc.components.securitySchemes.bearer).toMatchObject({
      type: "http",
      scheme: "bearer",
    });
    for (const route of bearerRoutes) {
      const op = operation(route);
      expect(op.security, route).toContainEqual({ bearer: [] });
      expect(isProblem(op.responses["401"]), route).toBe(true);
      expect(op.responses["401"]?.headers, route).toHaveProperty("WWW-Authenticate");
    }
    for (const route of ["POST /auth/register", "POST /auth/login", "GET /health/ready"]) {
      expect(operation(route).security, route).toBeUndefined();
    }
  });

  test("refresh and logout take the refresh_token cookie, documented as an apiKey in a cookie", () => {
    expect(doc.components.securitySchemes.refresh_token).toEqual({
      type: "apiKey",
      in: "cookie",
      name: "refresh_token",
      description: expect.any(String),
    });
    expect(operation("POST /auth/refresh").security).toEqual([{ refresh_token: [] }]);
    expect(operation("POST /auth/logout").security).toEqual([
      { bearer: [] },
      { oauth2: [] },
      { refresh_token: [] },
    ]);
  });

  test("every error answer is a problem+json Problem, but the readiness report", () => {
    // An OAuth2 form request to the token endpoint gets the same fields as RFC 6749's JSON.
    const oauth = new Set([
      "POST /auth/token 400",
      "POST /auth/token 403",
      "POST /auth/token 429",
      "POST /auth/token 503",
    ]);
    const problem = doc.components.schemas.Problem;
    expect(problem?.required).toEqual(["type", "title", "status", "detail"]);
    expect(problem?.properties?.errors?.items?.required).toEqual(["field", "message"]);
    let count = 0;
    for (const { route, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400 || route === "GET /health/ready") continue;
        expect(isProblem(response), `${route} ${status}`).toBe(true);
        const types = oauth.has(`${route} ${status}`)
          ? ["application/problem+json", "application/json"]
          : ["application/problem+json"];
        expect(Object.keys(response.content ?? {}), `${route} ${status}`).toEqual(types);
        count++;
      }
    }
    expect(count).toBeGreaterThan(40);
    expect(Object.keys(operation("POST /auth/register").responses)).toEqual(
      expect.arrayContaining(["201", "409", "422"]),
    );
    expect(Object.keys(operation("POST /auth/login").responses)).toEqual(
      expect.arrayContaining(["200", "401", "422", "429"]),
    );
    expect(Object.keys(operation("POST /auth/change-role").responses)).toEqual(
      expect.arrayContaining(["200", "403", "404", "409"]),
    );
    // The current password is checked under the login limits, and a lost race is a conflict.
    expect(Object.keys(operation("POST /auth/change-password").responses)).toEqual(
      expect.arrayContaining(["200", "401", "409", "422", "429", "503"]),
    );
  });

  test("bodies and success answers carry their schemas", () => {
    const register = operation("POST /auth/register");
    expect(Object.keys(register.requestBody?.content ?? {}).sort()).toEqual([
      "application/json",
      "application/x-www-form-urlencoded",
    ]);
    const user = register.responses["201"]?.content?.["application/json"]?.schema;
    expect(user?.required).toEqual(["id", "username", "role", "created_at"]);
    const token = operation("POST /auth/login").responses["200"];
    expect(token?.content?.["application/json"]?.schema.properties?.token_type).toMatchObject({
      const: "bearer",
    });
    expect(token?.headers).toHaveProperty("Set-Cookie");
  });

  test("an OAuth2 password flow at /auth/token is declared, and its token opens the bearer routes", () => {
    expect(doc.components.securitySchemes.oauth2).toMatchObject({
      type: "oauth2",
      flows: { password: { tokenUrl: "/auth/token", refreshUrl: "/auth/token", scopes: {} } },
    });
    for (const route of bearerRoutes) {
      expect(operation(route).security, route).toEqual([{ bearer: [] }, { oauth2: [] }]);
    }
    expect(operation("POST /auth/token").security).toBeUndefined();
  });

  test("/auth/token declares the RFC 6749 form, the answer with refresh_token, and RFC 6749 errors", () => {
    const token = operation("POST /auth/token");
    const content = token.requestBody?.content as Record<string, { schema: Schema }>;
    const form = content["application/x-www-form-urlencoded"]?.schema;
    expect(form?.required).toEqual(["grant_type"]);
    expect(form?.properties?.grant_type).toMatchObject({ enum: ["password", "refresh_token"] });
    expect(Object.keys(form?.properties ?? {})).toEqual(
      expect.arrayContaining(["username", "password", "refresh_token", "scope"]),
    );
    expect(content["application/json"]?.schema.required).toEqual(["username", "password"]);

    const ok = token.responses["200"];
    const body = ok?.content?.["application/json"]?.schema;
    expect(body?.required).toEqual(["access_token", "token_type", "expires_in"]);
    expect(body?.properties).toHaveProperty("refresh_token");
    expect(Object.keys(ok?.headers ?? {})).toEqual(
      expect.arrayContaining(["Set-Cookie", "Cache-Control", "Pragma"]),
    );

    for (const status of ["400", "429", "503"]) {
      expect(token.responses[status]?.content?.["application/json"]?.schema.$ref, status).toBe(
        "#/components/schemas/OAuthError",
      );
    }
    const error = doc.components.schemas.OAuthError;
    expect(error?.required).toEqual(
      expect.arrayContaining(["error", "error_description", "type", "title", "status", "detail"]),
    );
    expect(error?.properties?.error?.enum).toEqual(
      expect.arrayContaining(["invalid_request", "invalid_grant", "unsupported_grant_type"]),
    );
  });

  /** Checks a value against a schema of the document, its $refs into components resolved. */
  const validator = () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true, coerceTypes: true });
    ajv.addSchema({ $id: "doc", components: doc.components });
    return (schema: object, value: unknown) => {
      const resolved = JSON.parse(
        JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/'),
      );
      const check = ajv.compile(resolved);
      return { valid: check(structuredClone(value)), errors: check.errors };
    };
  };

  test("the heavy task's n is decimal digits from 0 to HEAVY_TASK_MAX_N, exactly as its pattern says", () => {
    const n = operation("GET /secure/heavy-task").parameters?.find((p) => p.name === "n");
    expect(n).toMatchObject({ in: "query", schema: { type: "string" }, example: "30" });
    const pattern = new RegExp(n?.schema.pattern ?? "(?!)");
    const outOfStep: number[] = [];
    for (let value = 0; value <= maxN * 3; value++) {
      if (pattern.test(String(value)) !== value <= maxN) outOfStep.push(value);
    }
    expect(outOfStep).toEqual([]);
    for (const text of ["00", "01", "-0", "+1", " 1", "1.0", "1e2", "0x1", ""]) {
      expect(pattern.test(text), text).toBe(false);
    }
  });

  test("a schema validator and the API agree on n: only 30 of 1e3, 010, +5, 5.0, -1, 30", async () => {
    const api = client(ctx.app);
    expect((await api.register("openapi_n")).status).toBe(201);
    const { token } = await api.login("openapi_n");
    const n = operation("GET /secure/heavy-task").parameters?.find((p) => p.name === "n");
    // Query values arrive as text; the coercing validator reads them as a proxy such as Prism does.
    const check = validator();
    const verdicts: Record<string, { document: boolean; api: number }> = {};
    for (const raw of ["1e3", "010", "+5", "5.0", "-1", "30"]) {
      const reply = await api.call("GET", `/secure/heavy-task?n=${encodeURIComponent(raw)}`, {
        token,
      });
      verdicts[raw] = { document: check(n?.schema ?? {}, raw).valid, api: reply.status };
    }
    expect(verdicts).toEqual({
      "1e3": { document: false, api: 422 },
      "010": { document: false, api: 422 },
      "+5": { document: false, api: 422 },
      "5.0": { document: false, api: 422 },
      "-1": { document: false, api: 422 },
      "30": { document: true, api: 200 },
    });
  });

  test("every path parameter and every problem answer has an example valid against its schema", () => {
    const check = validator();
    const invalid: string[] = [];
    let problemExamples = 0;
    for (const { route, op } of operations()) {
      for (const parameter of op.parameters ?? []) {
        if (parameter.in === "path" || route === "GET /secure/heavy-task") {
          expect(parameter.example, `${route} ${parameter.name}`).toBeDefined();
        }
        if (parameter.example !== undefined && !check(parameter.schema, parameter.example).valid) {
          invalid.push(`${route} ${parameter.name}`);
        }
      }
      for (const [status, response] of Object.entries(op.responses)) {
        for (const [type, media] of Object.entries(response.content ?? {})) {
          if (type === "application/problem+json") {
            expect(media.example, `${route} ${status}`).toMatchObject({
              type: "about:blank",
              status: Number(status),
              detail: response.description,
            });
            problemExamples++;
          }
          if (media.example === undefined) continue;
          const result = check(media.schema, media.example);
          if (!result.valid) invalid.push(`${route} ${status}: ${JSON.stringify(result.errors)}`);
        }
      }
    }
    expect(invalid).toEqual([]);
    expect(problemExamples).toBeGreaterThan(40);
  });

  test("a 422 example names a field the route takes, as the API's own 422 does", () => {
    const example = (route: string) =>
      operation(route).responses["422"]?.content?.["application/problem+json"]?.example;
    expect(example("POST /auth/register")).toMatchObject({
      title: "Unprocessable Content",
      errors: [{ field: "username", message: "required: a string" }],
    });
    expect(example("GET /secure/heavy-task")).toMatchObject({
      errors: [{ field: "n", message: `an integer from 0 to ${maxN}, in decimal digits` }],
    });
    expect(example("POST /auth/change-password")).toMatchObject({
      errors: [{ field: "current_password" }],
    });
  });
});

describe("documentation pages", () => {
  let ctx: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => {
    ctx = await startApp("docs-pages", "embedded");
  });
  afterAll(() => ctx.close());

  test.each([
    ["/docs", '<div id="swagger-ui">'],
    ["/redoc", '<redoc spec-url="/docs/json">'],
  ])("%s loads every script and stylesheet from this server", async (path, mount) => {
    const api = client(ctx.app);
    const page = await api.call("GET", path);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toStartWith("text/html");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(page.text).toContain(mount);
    expect(page.text).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
    const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)]
      .map((m) => m[1] ?? "")
      .filter((asset) => !asset.startsWith("data:"));
    expect(assets.length).toBeGreaterThanOrEqual(path === "/docs" ? 3 : 1);
    for (const asset of assets) {
      const reply = await api.call("GET", asset);
      expect(reply.status, asset).toBe(200);
      expect(reply.headers.get("content-type"), asset).toMatch(/^text\/(css|javascript)/);
      expect(reply.text.length, asset).toBeGreaterThan(100);
    }
  });

  test("the ReDoc bundle it serves draws no image from ReDoc's CDN", async () => {
    const bundle = await client(ctx.app).call("GET", "/redoc/redoc.standalone.js");
    expect(bundle.status).toBe(200);
    expect(bundle.text).toContain("Redoc");
    expect(bundle.text).not.toContain("cdn.redoc.ly");
  });

  test("ReDoc's search worker, made from a blob, is the one thing beyond 'self' the pages may run", async () => {
    const policy = (await client(ctx.app).call("GET", "/redoc")).headers.get(
      "content-security-policy",
    );
    expect(policy).toContain("worker-src blob:");
    expect(policy).not.toMatch(/script-src|unsafe-eval|\*/);
  });
});

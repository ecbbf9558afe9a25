// Not the package root: it replaces TypeBox's global format checks with slower zod/valibot ones.
import { withHeaders } from "@elysiajs/openapi/openapi";
import { Elysia, t } from "elysia";
import { publishedKeys } from "../../../application/keys/listKeys.ts";
import type { SigningKey } from "../../../domain/keys/KeyRing.ts";
import { problems } from "../schemas.ts";
import type { Deps } from "./deps.ts";

const Jwks = withHeaders(
  t.Object(
    {
      keys: t.Array(
        t.Object({
          kty: t.UnionEnum(["EC", "OKP"]),
          crv: t.UnionEnum(["P-256", "Ed25519"]),
          x: t.String(),
          y: t.Optional(t.String({ description: "EC keys only." })),
          kid: t.String(),
          alg: t.UnionEnum(["ES256", "EdDSA"]),
          use: t.Literal("sig"),
        }),
      ),
    },
    { description: "RFC 7517 JWK Set" },
  ),
  { "Cache-Control": t.String({ description: "public, max-age=300" }) },
);

const url = t.String({ format: "uri" });
const names = t.Array(t.String());

const ServerMetadata = t.Object(
  {
    issuer: t.String({ description: "The iss claim of every token." }),
    token_endpoint: url,
    jwks_uri: url,
    introspection_endpoint: url,
    revocation_endpoint: url,
    service_documentation: url,
    grant_types_supported: names,
    response_types_supported: t.Array(t.String(), {
      description: "Empty: there is no authorization endpoint.",
    }),
    token_endpoint_auth_methods_supported: names,
    introspection_endpoint_auth_methods_supported: names,
    revocation_endpoint_auth_methods_supported: names,
  },
  { description: "RFC 8414 authorization server metadata" },
);

const jwk = (key: SigningKey) => ({
  ...key.publicJwk,
  kid: key.kid,
  alg: key.alg,
  use: "sig" as const,
});

/** Under JWT_ISSUER when it is an http(s) URL, as RFC 8414 has it, else the request's origin. */
const baseOf = (issuer: string) => {
  const parsed = URL.parse(issuer);
  const fromIssuer =
    parsed !== null && (parsed.protocol === "https:" || parsed.protocol === "http:")
      ? issuer.replace(/\/+$/, "")
      : undefined;
  return (request: Request) => fromIssuer ?? new URL(request.url).origin;
};

/** The public routes other services discover the issuer by: its keys and its endpoints. */
export const discoveryController = ({ run }: Deps, issuer: string) => {
  const base = baseOf(issuer);
  return new Elysia({ name: "discovery-controller" })
    .get(
      "/.well-known/jwks.json",
      ({ set }) =>
        run(publishedKeys, (keys) => {
          set.headers["cache-control"] = "public, max-age=300";
          return { keys: keys.map(jwk) };
        }),
      {
        response: { 200: Jwks, ...problems({ 503: "The server is shutting down." }) },
        detail: {
          summary: "The public keys that verify access tokens (JWKS)",
          description:
            "The next key (published before it signs), the active key, and retired keys until their last tokens expire; a revoked key leaves at once. Empty with ALGORITHM=HS256.",
          responses: { 200: { description: "The JWK Set." } },
        },
      },
    )
    .get(
      "/.well-known/oauth-authorization-server",
      ({ request }) => {
        const at = base(request);
        return {
          issuer,
          token_endpoint: `${at}/auth/token`,
          jwks_uri: `${at}/.well-known/jwks.json`,
          introspection_endpoint: `${at}/oauth/introspect`,
          revocation_endpoint: `${at}/oauth/revoke`,
          service_documentation: `${at}/docs`,
          grant_types_supported: ["password", "refresh_token"],
          response_types_supported: [],
          // No registered clients at the token endpoint (decision 34); resource servers
          // authenticate to introspection; anyone holding a token may revoke it.
          token_endpoint_auth_methods_supported: ["none"],
          introspection_endpoint_auth_methods_supported: ["client_secret_basic"],
          revocation_endpoint_auth_methods_supported: ["none"],
        };
      },
      {
        response: { 200: ServerMetadata },
        detail: {
          summary: "Authorization server metadata (RFC 8414)",
          responses: { 200: { description: "Where the endpoints and keys are." } },
        },
      },
    );
};

import { Elysia, t } from "elysia";
import type { KeyListing } from "../../../application/keys/listKeys.ts";
import { listKeys } from "../../../application/keys/listKeys.ts";
import { maxReasonLength, revokeKey } from "../../../application/keys/revokeKey.ts";
import { rotateKeys } from "../../../application/keys/rotateKeys.ts";
import { bearer, bodyProblems, problems, tokenProblems } from "../schemas.ts";
import type { Deps } from "./deps.ts";

const date = t.String({ format: "date-time" });
const dateOrNull = (description: string) => t.Union([date, t.Null()], { description });

export const SigningKeyRing = t.Object({
  algorithm: t.UnionEnum(["HS256", "ES256", "EdDSA"], {
    description: "What signs access tokens: HS256 uses JWT_SECRET and no keys.",
  }),
  keys: t.Array(
    t.Object({
      kid: t.String(),
      alg: t.UnionEnum(["ES256", "EdDSA"]),
      state: t.UnionEnum(["next", "active", "retired", "revoked"], {
        description:
          "next: published, signs after the next rotation; active: signs; retired: verifies what it signed until verifies_until; revoked: verifies nothing.",
      }),
      created_at: date,
      activated_at: dateOrNull("When it began to sign."),
      retired_at: dateOrNull("When it stopped signing."),
      revoked_at: dateOrNull("When it stopped verifying."),
      revocation_reason: t.Union([t.String(), t.Null()]),
      verifies_until: dateOrNull("When it stops verifying; null while next or active."),
      published: t.Boolean({ description: "In /.well-known/jwks.json now." }),
    }),
    { description: "Every key ever made, oldest first. Never any private material." },
  ),
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const ringBody = (listing: KeyListing) => ({
  algorithm: listing.algorithm,
  keys: listing.keys.map((key) => ({
    kid: key.kid,
    alg: key.alg,
    state: key.state,
    created_at: new Date(key.createdAt).toISOString(),
    activated_at: iso(key.activatedAt),
    retired_at: iso(key.retiredAt),
    revoked_at: iso(key.revokedAt),
    revocation_reason: key.revocationReason,
    verifies_until: iso(key.verifiesUntil),
    published: key.published,
  })),
});

const adminOnly = { ...tokenProblems, 403: "The caller is not an admin." } as const;

const hs256 = "ALGORITHM is HS256: there are no keys to change.";

export const keysController = ({ run, guard, bodies, context }: Deps) =>
  new Elysia({ name: "keys-controller" })
    .use(guard)
    .use(bodies)
    .use(context)
    .get("/admin/keys", () => run(listKeys(), ringBody), {
      role: "admin",
      response: { 200: SigningKeyRing, ...problems(adminOnly) },
      detail: {
        summary: "Admin: the signing keys, with their states and dates",
        security: bearer,
        responses: { 200: { description: "The key ring as the event log holds it." } },
      },
    })
    .post(
      "/admin/keys/rotate",
      ({ principal, metadata }) => run(rotateKeys({ ...metadata, actor: principal.sub }), ringBody),
      {
        role: "admin",
        response: {
          200: SigningKeyRing,
          ...problems({ ...bodyProblems, ...adminOnly, 409: hs256 }),
        },
        detail: {
          summary: "Admin: rotate the signing keys",
          description:
            "The next key (published in the JWKS since the last rotation) signs from now on, the active key retires (it verifies its tokens until they expire) and a new next key is published.",
          security: bearer,
          responses: { 200: { description: "The key ring after the rotation." } },
        },
      },
    )
    .post(
      "/admin/keys/:kid/revoke",
      ({ params, body, principal, metadata }) =>
        run(
          revokeKey(
            { kid: params.kid, reason: body.reason },
            { ...metadata, actor: principal.sub },
          ),
          ringBody,
        ),
      {
        role: "admin",
        params: t.Object({
          kid: t.String({
            maxLength: 64,
            description: "The key's kid, as GET /admin/keys and the JWKS give it.",
            examples: ["Zk3xq1sYbT9vA0mQe7rL2cW8uNdH5pJiG4oKfV6yXsE"],
          }),
        }),
        body: t.Object({
          reason: t.Optional(
            t.String({
              maxLength: maxReasonLength,
              description: "Why, for the audit trail (e.g. compromised).",
            }),
          ),
        }),
        response: {
          200: SigningKeyRing,
          ...problems({
            ...bodyProblems,
            ...adminOnly,
            404: "No signing key has that kid.",
            409: hs256,
            422: `kid is longer than 64 characters, or reason longer than ${maxReasonLength}.`,
          }),
        },
        detail: {
          summary: "Admin: revoke a signing key; its tokens are refused at once",
          description:
            "This instance refuses every token the key signed before it answers, every other instance within a second. Revoking the active key rotates first; a revoked next key is replaced. Revoking a revoked key changes nothing.",
          security: bearer,
          responses: { 200: { description: "The key ring after the revocation." } },
        },
      },
    );

import type { Elysia } from "elysia";
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from "jose";
import { createClient } from "redis";
import { keyLayoutVersion, tokenKeys } from "../redis/keyLayout.ts";

export { keyLayoutVersion };

/** The caller a live access token speaks for. */
export type Principal = {
  readonly sub: string;
  readonly username: string;
  readonly role: string;
  readonly sid: string;
  readonly jti: string;
  readonly epoch: number;
  readonly iat: number;
  readonly exp: number;
};

/** 401: the token is not live. 503: whether it is cannot be told now (fail closed). */
export type Verdict =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly status: 401 | 503; readonly reason: string };

/** What the verifier needs of a Redis client: node-redis's client and cluster both have it. */
export type KeyReader = { readonly mGet: (keys: string[]) => Promise<(string | null)[]> };

export type VerifierOptions = {
  /** The `iss` every token must carry: the API's `ISSUER`. */
  readonly issuer: string;
  /** The API's `/.well-known/jwks.json`, for ES256 and EdDSA tokens. */
  readonly jwksUrl?: string;
  /** The API's `JWT_SECRET`, for HS256 tokens. */
  readonly secret?: string;
  /** The Redis that holds the API's token projection, or a connected client of it. */
  readonly redisUrl?: string;
  readonly redis?: KeyReader;
  /** The API's `REDIS_KEY_PREFIX`. */
  readonly keyPrefix?: string;
  /** A Redis read that takes longer answers 503. */
  readonly timeoutMs?: number;
};

export type Verifier = {
  readonly verify: (token: string) => Promise<Verdict>;
  readonly close: () => Promise<void>;
};

const skewSeconds = 5;
const isId = (value: unknown): value is string =>
  typeof value === "string" && value.length > 0 && value.length <= 64;
const isCount = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0;

const principalOf = (claims: JWTPayload): Principal | undefined => {
  const { sub, username, role, sid, jti, epoch, iat, exp } = claims;
  if (!isId(sub) || !isId(sid) || !isId(jti) || !isCount(epoch)) return undefined;
  if (typeof username !== "string" || typeof role !== "string") return undefined;
  if (!isCount(iat) || !isCount(exp)) return undefined;
  return { sub, username, role, sid, jti, epoch, iat, exp };
};

/** jose's codes for a token that is not valid, as opposed to keys that cannot be had. */
const refusals = new Set([
  "ERR_JWT_EXPIRED",
  "ERR_JWT_CLAIM_VALIDATION_FAILED",
  "ERR_JWT_INVALID",
  "ERR_JWS_INVALID",
  "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
  "ERR_JOSE_ALG_NOT_ALLOWED",
  "ERR_JOSE_NOT_SUPPORTED",
  "ERR_JWKS_NO_MATCHING_KEY",
  "ERR_JWKS_MULTIPLE_MATCHING_KEYS",
]);

const refused = (reason: string): Verdict => ({ ok: false, status: 401, reason });
const unavailable = (reason: string): Verdict => ({ ok: false, status: 503, reason });

/**
 * Checks an access token of the API where it is presented: its signature, type, issuer and
 * times locally, then with one single-slot MGET on the API's Redis whether it was revoked, with
 * the API's own rules. Anything it cannot read makes it answer 503, never a pass.
 */
export const createVerifier = (options: VerifierOptions): Verifier => {
  const keys = tokenKeys(options.keyPrefix ?? "auth:");
  const timeoutMs = options.timeoutMs ?? 500;
  if ((options.jwksUrl === undefined) === (options.secret === undefined)) {
    throw new Error("createVerifier needs exactly one of jwksUrl and secret");
  }
  // Refetched at most once a second while in use: a revoked key leaves the set, and a kid the
  // cached set does not know yet is looked up again.
  const key = options.jwksUrl
    ? createRemoteJWKSet(new URL(options.jwksUrl), {
        cacheMaxAge: 1000,
        cooldownDuration: 1000,
        timeoutDuration: 1000,
      })
    : new TextEncoder().encode(options.secret);
  const algorithms = options.jwksUrl ? ["ES256", "EdDSA"] : ["HS256"];

  let owned: ReturnType<typeof createClient> | undefined;
  let connecting: Promise<unknown> | undefined;
  const reader = (): KeyReader => {
    if (options.redis) return options.redis;
    if (!owned) {
      if (!options.redisUrl) throw new Error("createVerifier needs redisUrl or redis");
      owned = createClient({
        url: options.redisUrl,
        // A command sent while disconnected fails at once instead of waiting for a Redis that
        // may come back empty.
        disableOfflineQueue: true,
        socket: {
          connectTimeout: 1000,
          reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 1000),
        },
      });
      owned.on("error", () => {});
      // Awaited by the calls made while it connects; once up, the client itself answers.
      connecting = owned.connect().then(() => {
        connecting = undefined;
      });
    }
    return owned;
  };

  const within = <A>(promise: Promise<A>): Promise<A> =>
    new Promise<A>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`redis did not answer in ${timeoutMs} ms`)),
        timeoutMs,
      );
      promise.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });

  const verify = async (token: string): Promise<Verdict> => {
    let claims: JWTPayload;
    try {
      const verified = await jwtVerify(token, key as Parameters<typeof jwtVerify>[1], {
        issuer: options.issuer,
        typ: "at+jwt",
        algorithms,
        clockTolerance: skewSeconds,
        requiredClaims: ["exp", "iat", "sub", "jti"],
      });
      claims = verified.payload;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      // Anything else (the key set cannot be fetched or read) says nothing of the token.
      return typeof code === "string" && refusals.has(code)
        ? refused(code)
        : unavailable("the signing keys cannot be read");
    }
    const principal = principalOf(claims);
    if (!principal) return refused("missing claims");
    let values: (string | null)[];
    try {
      const client = reader();
      if (connecting) await within(connecting);
      values = await within(
        client.mGet([
          keys.epoch(principal.sub),
          keys.token(principal.sub, principal.jti),
          keys.session(principal.sub, principal.sid),
        ]),
      );
    } catch {
      return unavailable("revocation state cannot be read");
    }
    const [epoch, tokenRevoked, sessionRevoked] = values;
    // Every user has an epoch from registration on: without one the projection is incomplete.
    if (epoch == null) return unavailable("revocation state is incomplete");
    if (Number(epoch) !== principal.epoch) return refused("stale epoch");
    if (tokenRevoked != null || sessionRevoked != null) return refused("revoked");
    return { ok: true, principal };
  };

  return {
    verify,
    close: async () => {
      if (owned?.isOpen) await owned.close();
    },
  };
};

// RFC 6750 and 7235: the scheme is case-insensitive, and more than one space may follow it.
const bearerPattern = /^bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

/** The token of an `Authorization: Bearer` header, or undefined. */
export const bearerToken = (authorization: string | null | undefined) =>
  authorization == null ? undefined : bearerPattern.exec(authorization)?.[1];

const titles = { 401: "Unauthorized", 503: "Service Unavailable" } as const;

/** The refusal's headers, for frameworks that build the response themselves. */
const problemHeaders = (status: 401 | 503): Record<string, string> => ({
  "content-type": "application/problem+json",
  "cache-control": "no-store",
  ...(status === 401
    ? { "www-authenticate": 'Bearer error="invalid_token"' }
    : { "retry-after": "1" }),
});

const problemBody = (status: 401 | 503, detail: string) => ({
  type: "about:blank",
  title: titles[status],
  status,
  detail,
});

/** The refusal as RFC 9457 problem+json, with the header each status calls for. */
export const problemResponse = (status: 401 | 503, detail: string) =>
  new Response(JSON.stringify(problemBody(status, detail)), {
    status,
    headers: problemHeaders(status),
  });

const noToken = "A bearer access token is required.";
const detailOf = (verdict: Exclude<Verdict, { ok: true }>) =>
  verdict.status === 401
    ? "The access token is invalid or revoked."
    : "Tokens cannot be checked right now.";

/** Wraps a fetch-style handler: it runs only for a live token, with the caller's principal. */
export const fetchGuard =
  (
    verifier: Verifier,
    handler: (request: Request, principal: Principal) => Response | Promise<Response>,
  ) =>
  async (request: Request): Promise<Response> => {
    const token = bearerToken(request.headers.get("authorization"));
    if (!token) return problemResponse(401, noToken);
    const verdict = await verifier.verify(token);
    return verdict.ok
      ? handler(request, verdict.principal)
      : problemResponse(verdict.status, detailOf(verdict));
  };

/**
 * An Elysia plugin: the routes after it get `principal`, and a request without a live token is
 * answered 401 (or 503) before the handler runs.
 */
export const elysiaGuard =
  (verifier: Verifier) =>
  <App extends Elysia>(app: App) =>
    app.resolve({ as: "scoped" }, async ({ request, set, status }) => {
      const token = bearerToken(request.headers.get("authorization"));
      const verdict: Verdict = token
        ? await verifier.verify(token)
        : { ok: false, status: 401, reason: noToken };
      if (verdict.ok) return { principal: verdict.principal };
      Object.assign(set.headers, problemHeaders(verdict.status));
      return status(
        verdict.status,
        problemBody(verdict.status, token ? detailOf(verdict) : noToken),
      );
    });

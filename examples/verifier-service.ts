import { createVerifier, elysiaGuard, fetchGuard } from "authlog/verifier";
import { Elysia } from "elysia";

/**
 * Another service behind the API, as its README shows it: it checks the API's access tokens with
 * the verifier library alone. `/fetch` is a fetch-style handler, `/elysia` an Elysia route.
 */
const env = process.env;
const verifier = createVerifier({
  issuer: env.JWT_ISSUER ?? "authlog",
  ...(env.JWKS_URL ? { jwksUrl: env.JWKS_URL } : { secret: env.JWT_SECRET ?? "" }),
  redisUrl: env.REDIS_URL ?? "redis://127.0.0.1:6379",
  keyPrefix: env.REDIS_KEY_PREFIX ?? "auth:",
});

const plain = fetchGuard(verifier, (_request, principal) =>
  Response.json({ via: "fetch", sub: principal.sub, role: principal.role }),
);
const app = new Elysia()
  .use(elysiaGuard(verifier))
  .get("/elysia", ({ principal }) => ({ via: "elysia", sub: principal.sub, role: principal.role }));

const fetchHandler = (request: Request) =>
  new URL(request.url).pathname === "/elysia" ? app.handle(request) : plain(request);
const address = { hostname: "127.0.0.1", port: Number(env.PORT) };

// The same service on Bun or on Deno.
declare const Deno: {
  serve: (
    options: typeof address & { onListen?: () => void },
    handler: typeof fetchHandler,
  ) => { shutdown: () => Promise<void> };
};
const server =
  typeof Bun === "undefined"
    ? Deno.serve({ ...address, onListen: () => {} }, fetchHandler)
    : Bun.serve({ ...address, fetch: fetchHandler });
process.on("SIGTERM", async () => {
  await ("shutdown" in server ? server.shutdown() : server.stop());
  await verifier.close();
  process.exit(0);
});

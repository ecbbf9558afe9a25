import { Elysia } from "elysia";

/**
 * The ceiling of any route on Bun + Elysia (SPEC section 14): one route answering the same small
 * JSON as the project's GET /secure/data, with no plugins, no hooks and no schema. The hotpath
 * bench runs it as its own process; `PORT=3001 bun run bench bare` serves it by hand.
 */
const app = new Elysia()
  .get("/secure/data", () => ({
    message: "Hello, bench_0.",
    user: { id: "019a0000-0000-7000-8000-000000000000", username: "bench_0", role: "user" },
  }))
  .listen({ hostname: "127.0.0.1", port: Number(process.env.PORT ?? 0), reusePort: false });

console.log(`bare Elysia app on http://127.0.0.1:${app.server?.port}/secure/data`);

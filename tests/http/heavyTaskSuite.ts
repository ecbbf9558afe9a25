import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { FibonacciComputer } from "../../src/application/ports/FibonacciComputer.ts";
import { client, type Mode, startApp } from "../support/app.ts";
import { binet, iterativeFibonacci, knownFibonacci } from "../support/fibonacci.ts";

/** GET /secure/heavy-task over HTTP, the same for every storage mode. */
export const heavyTaskSuite = (mode: Mode) =>
  describe(`heavy task (${mode})`, () => {
    let ctx: Awaited<ReturnType<typeof startApp>>;
    let api: ReturnType<typeof client>;
    let token: string;

    const heavy = (query: string, bearer: string | null = token) =>
      api.call("GET", `/secure/heavy-task${query}`, bearer ? { token: bearer } : {});
    const computations = async () => {
      const computer = await ctx.runtime.runPromise(FibonacciComputer);
      return (await ctx.runtime.runPromise(computer.stats)).started;
    };

    beforeAll(async () => {
      ctx = await startApp(`heavy-${mode}`, mode);
      api = client(ctx.app);
      expect((await api.register(`heavy_${mode}`)).status).toBe(201);
      token = (await api.login(`heavy_${mode}`)).token;
    });
    afterAll(() => ctx.close());

    test("needs a valid access token", async () => {
      const missing = await heavy("?n=20", null);
      expect(missing.status).toBe(401);
      expect(missing.headers.get("www-authenticate")).toStartWith("Bearer");
      expect((await heavy("?n=20", "not.a.token")).status).toBe(401);
    });

    test.each(knownFibonacci)("F(%d) = %s, exact", async (n, expected) => {
      const reply = await heavy(`?n=${n}`);
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ n, result: expected, cached: expect.any(Boolean) });
    });

    test("large n match an independent computation", async () => {
      expect((await heavy("?n=5000")).body.result).toBe(iterativeFibonacci(5_000));
      const result = (await heavy("?n=100000")).body.result as string;
      const expected = binet(100_000, 10);
      expect(result.length).toBe(20_899);
      expect(result.length).toBe(expected.digits);
      expect(result.slice(0, 10)).toBe(expected.prefix);
      expect(result).toBe(iterativeFibonacci(100_000));
    });

    test("the second call of an n is served from the cache", async () => {
      const first = await heavy("?n=4321");
      const computed = await computations();
      const second = await heavy("?n=4321");
      expect(first.body.cached).toBe(false);
      expect(second.body).toEqual({ ...first.body, cached: true });
      // Nothing ran for the second call.
      expect(await computations()).toBe(computed);
    });

    test("100 concurrent requests for one uncached n run one computation", async () => {
      const before = await computations();
      const replies = await Promise.all(Array.from({ length: 100 }, () => heavy("?n=99999")));
      expect(await computations()).toBe(before + 1);
      expect(replies.every((r) => r.status === 200)).toBe(true);
      expect(new Set(replies.map((r) => r.body.result)).size).toBe(1);
      expect(replies[0]?.body.result).toHaveLength(20_899);
    });

    test.each([
      ["negative", "?n=-1"],
      ["a fraction", "?n=1.5"],
      ["an exponent", "?n=1e3"],
      ["too large", "?n=1e9"],
      ["one above the maximum", "?n=100001"],
      ["not a number", "?n=abc"],
      ["empty", "?n="],
      ["missing", ""],
      ["hexadecimal", "?n=0x10"],
      ["with a leading space", "?n=%205"],
      ["with a trailing space", "?n=5%20"],
      ["with a plus sign", "?n=%2B5"],
      ["with a leading zero", "?n=05"],
      ["given twice", "?n=5&n=6"],
    ])("n %s is 422 problem+json naming n, before any work", async (_, query) => {
      const before = await computations();
      const reply = await heavy(query);
      expect(reply.status).toBe(422);
      expect(reply.headers.get("content-type")).toStartWith("application/problem+json");
      expect(reply.body).toMatchObject({
        status: 422,
        errors: [{ field: "n", message: "an integer from 0 to 100000, in decimal digits" }],
      });
      expect(await computations()).toBe(before);
    });

    test("the route's schema states the maximum n", () => {
      const route = ctx.app.routes.find((r) => r.path === "/secure/heavy-task");
      const query = route?.hooks?.query as { properties: { n: { pattern: string } } };
      const pattern = new RegExp(query.properties.n.pattern);
      expect(["0", "99999", "100000"].filter((n) => pattern.test(n))).toHaveLength(3);
      expect(["100001", "999999", "00"].filter((n) => pattern.test(n))).toEqual([]);
    });
  });

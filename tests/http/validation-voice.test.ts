import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { client, startApp } from "../support/app.ts";

/** Every 422 says what each field must be, in the words of the domain's own rules. */
describe("422 messages in one voice", () => {
  let ctx: Awaited<ReturnType<typeof startApp>>;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    ctx = await startApp("validation-voice", "embedded");
    api = client(ctx.app);
  });
  afterAll(() => ctx.close());

  const cases = [
    [{}, { username: "required: a string", password: "required: a string" }],
    [
      { username: 5, password: true },
      { username: "a string", password: "a string" },
    ],
    [
      { username: "x".repeat(300), password: "correct horse battery" },
      { username: "at most 256 characters" },
    ],
    [
      { username: "ab", password: "correct horse battery" },
      { username: expect.stringMatching(/^3 to 32 characters/) },
    ],
    [{ username: "fine_name", password: "short" }, { password: "8 to 128 characters" }],
  ] as const;

  for (const [body, expected] of cases) {
    test(`register ${JSON.stringify(body).slice(0, 50)}`, async () => {
      const reply = await api.call("POST", "/auth/register", { body });
      expect(reply.status).toBe(422);
      const errors = reply.body.errors as { field: string; message: string }[];
      expect(Object.fromEntries(errors.map((e) => [e.field, e.message]))).toEqual(expected);
      for (const { message } of errors) expect(message).toMatch(/^[a-z0-9]/);
    });
  }
});

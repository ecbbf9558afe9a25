import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ClientCredentials, ResourceOwnerPassword } from "simple-oauth2";
import { startServer } from "../support/server.ts";

const password = "correct horse battery";

/** What simple-oauth2 throws for an error answer: its status and the parsed JSON body. */
type Refusal = { output: { statusCode: number }; data: { payload: Record<string, unknown> } };

// RFC 7009's answer is an empty 200 with no media type, which simple-oauth2's default strict JSON
// mode refuses as "not JSON compatible": a client that revokes parses leniently.
const lenient = { json: true };

const refusal = async (attempt: Promise<unknown>) => {
  const error = (await attempt.then(
    () => {
      throw new Error("the request succeeded");
    },
    (thrown: unknown) => thrown,
  )) as Refusal;
  return { status: error.output.statusCode, body: error.data.payload };
};

// A real OAuth2 client library against the API as a process, over PostgreSQL and Redis.
describe("simple-oauth2 against /auth/token and /oauth/revoke", () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let config: ConstructorParameters<typeof ResourceOwnerPassword>[0];
  let n = 0;

  const user = async () => {
    const username = `oauth_client_${++n}`;
    const registered = await fetch(`${server.base}/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    expect(registered.status).toBe(201);
    return username;
  };

  const me = (accessToken: unknown) =>
    fetch(`${server.base}/auth/me`, { headers: { authorization: `Bearer ${accessToken}` } });

  beforeAll(async () => {
    server = await startServer("oauth2_client", { REFRESH_GRACE_SECONDS: "10" });
    // No client is registered: /auth/token and /oauth/revoke ignore the id and secret it sends.
    config = {
      client: { id: "any-client", secret: "unused" },
      auth: { tokenHost: server.base, tokenPath: "/auth/token" },
    };
  });
  afterAll(() => server?.stop());

  test("the password grant gives a bearer token that GET /auth/me accepts", async () => {
    const username = await user();
    const token = await new ResourceOwnerPassword(config).getToken({ username, password });
    // A copy: Bun's toMatchObject writes its matchers into the object it was given.
    expect({ ...token.token }).toMatchObject({
      access_token: expect.any(String),
      token_type: "bearer",
      expires_in: 900,
      refresh_token: expect.any(String),
    });
    expect(token.expired()).toBe(false);
    const answer = await me(token.token.access_token);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ username, role: "user" });
  });

  test("refresh gives a new access token and a rotated refresh token", async () => {
    const username = await user();
    const first = await new ResourceOwnerPassword(config).getToken({ username, password });
    const second = await first.refresh();
    expect(second.token.access_token).not.toBe(first.token.access_token);
    expect(second.token.refresh_token).not.toBe(first.token.refresh_token);
    expect((await me(second.token.access_token)).status).toBe(200);
    const third = await second.refresh();
    expect(third.token.refresh_token).not.toBe(second.token.refresh_token);
    expect((await me(third.token.access_token)).status).toBe(200);
  });

  test("an already rotated refresh token presented again is invalid_grant and ends the session", async () => {
    const username = await user();
    const first = await new ResourceOwnerPassword(config).getToken({ username, password });
    const second = await first.refresh();
    const third = await second.refresh();
    expect((await me(third.token.access_token)).status).toBe(200);

    // Two rotations old: past the grace that only the just-replaced token gets.
    const reused = await refusal(first.refresh());
    expect(reused.status).toBe(400);
    expect(reused.body).toMatchObject({ error: "invalid_grant", status: 400 });
    expect(reused.body.error_description).toBeString();

    expect((await me(third.token.access_token)).status).toBe(401);
    const afterwards = await refusal(third.refresh());
    expect(afterwards).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
  });

  test("a wrong password is invalid_grant with 400", async () => {
    const username = await user();
    const wrong = await refusal(
      new ResourceOwnerPassword(config).getToken({ username, password: "wrong password" }),
    );
    expect(wrong).toMatchObject({
      status: 400,
      body: { error: "invalid_grant", type: "about:blank", title: "Bad Request", status: 400 },
    });
    expect(wrong.body.error_description).toBe(wrong.body.detail);
  });

  test("another grant type is unsupported_grant_type", async () => {
    const refused = await refusal(new ClientCredentials(config).getToken({}));
    expect(refused).toMatchObject({ status: 400, body: { error: "unsupported_grant_type" } });
  });

  test("a missing parameter is invalid_request", async () => {
    const username = await user();
    const refused = await refusal(
      new ResourceOwnerPassword(config).getToken({ username } as {
        username: string;
        password: string;
      }),
    );
    expect(refused).toMatchObject({ status: 400, body: { error: "invalid_request" } });
    expect(String(refused.body.error_description)).toContain("password");
  });

  test("revoke('access_token') kills that access token only; the refresh token still rotates", async () => {
    const username = await user();
    const token = await new ResourceOwnerPassword(config).getToken({ username, password });
    expect((await me(token.token.access_token)).status).toBe(200);
    await token.revoke("access_token", lenient);
    expect((await me(token.token.access_token)).status).toBe(401);
    const next = await token.refresh();
    expect((await me(next.token.access_token)).status).toBe(200);
  });

  test("revoke('refresh_token') ends the session: its access token dies, refresh is invalid_grant", async () => {
    const username = await user();
    const token = await new ResourceOwnerPassword(config).getToken({ username, password });
    await token.revoke("refresh_token", lenient);
    expect((await me(token.token.access_token)).status).toBe(401);
    expect(await refusal(token.refresh())).toMatchObject({
      status: 400,
      body: { error: "invalid_grant" },
    });
  });

  test("revokeAll() revokes both, and revoking them again is still a success", async () => {
    const username = await user();
    const token = await new ResourceOwnerPassword(config).getToken({ username, password });
    const other = await new ResourceOwnerPassword(config).getToken({ username, password });
    await token.revokeAll(lenient);
    expect((await me(token.token.access_token)).status).toBe(401);
    expect(await refusal(token.refresh())).toMatchObject({ status: 400 });
    await token.revokeAll(lenient);
    // Another login of the same user is untouched.
    expect((await me(other.token.access_token)).status).toBe(200);
  });

  test("token answers and errors are JSON that no cache keeps (RFC 6749 5.1)", async () => {
    const username = await user();
    const post = (form: Record<string, string>) =>
      fetch(`${server.base}/auth/token`, { method: "POST", body: new URLSearchParams(form) });
    for (const reply of [
      await post({ grant_type: "password", username, password }),
      await post({ grant_type: "password", username, password: "wrong password" }),
    ]) {
      expect(reply.headers.get("content-type")).toStartWith("application/json");
      expect(reply.headers.get("cache-control")).toBe("no-store");
      expect(reply.headers.get("pragma")).toBe("no-cache");
    }
  });
});

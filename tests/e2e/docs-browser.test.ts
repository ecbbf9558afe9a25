import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { startServer } from "../support/server.ts";

const executablePath = "/usr/bin/chromium";
const installed = existsSync(executablePath);
const screenshot = `${import.meta.dir}/../../docs/swagger-ui.png`;

// CI installs Debian's chromium (.ci/run); there a missing browser is a failure, not a skip.
if (!installed && process.env.CI === "true") {
  test("Chromium is installed for the documentation tests", () => {
    throw new Error(`${executablePath} is missing: apt-get install chromium`);
  });
}

describe.skipIf(!installed)("API documentation in a real browser, offline", () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let browser: Browser;
  let context: BrowserContext;
  /** Requests the pages tried to send anywhere but this machine. */
  const blocked: string[] = [];
  /** Uncaught page errors and console errors, Content-Security-Policy violations among them. */
  const pageErrors: string[] = [];
  /** The pages opened, so that the check of what they asked for is not about no page at all. */
  const opened: string[] = [];

  const open = async (path: string): Promise<Page> => {
    const page = await context.newPage();
    page.on("pageerror", (error) => pageErrors.push(`${path}: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error" || message.text().includes("Content Security Policy")) {
        pageErrors.push(`${path}: ${message.text()}`);
      }
    });
    await page.goto(`${server.base}${path}`);
    opened.push(path);
    return page;
  };

  /** GET /auth/me through Swagger UI's "Try it out", once it answered 200: its body. */
  const tryMe = async (page: Page) => {
    const me = page.locator("#operations-auth-getAuthMe");
    await me.locator(".opblock-summary").click();
    await me.locator("button.try-out__btn").click();
    await me.locator("button.execute").click();
    const live = me.locator(".live-responses-table .response").first();
    await live.locator(".response-col_status", { hasText: "200" }).waitFor();
    const answer = await live.locator(".response-col_description pre").first().textContent();
    return JSON.parse(answer ?? "{}");
  };

  /** A new user, registered over HTTP. */
  const newUser = async (prefix: string) => {
    const username = `${prefix}_${crypto.randomUUID().slice(0, 8)}`;
    const password = "correct horse battery";
    const registered = await fetch(`${server.base}/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    expect(registered.status).toBe(201);
    return { username, password };
  };

  beforeAll(async () => {
    server = await startServer("docs_browser");
    browser = await chromium.launch({
      executablePath,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-quic",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.route("**/*", (route) => {
      const { hostname } = new URL(route.request().url());
      if (hostname === "127.0.0.1" || hostname === "localhost") return route.continue();
      blocked.push(route.request().url());
      return route.abort("internetdisconnected");
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  test("Swagger UI: Authorize with a token, then GET /auth/me answers 200 with the user", async () => {
    const { username, password } = await newUser("docs");
    const login = await fetch(`${server.base}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    expect(login.status).toBe(200);
    const { access_token: token } = (await login.json()) as { access_token: string };

    const page = await open("/docs");
    await page.locator(".swagger-ui .info .title", { hasText: "authlog" }).waitFor();

    await page.locator("button.authorize").first().click();
    const bearerForm = page.locator(".auth-container", { hasText: "bearer" }).filter({
      has: page.locator("input"),
    });
    await bearerForm.locator("input").first().fill(token);
    await bearerForm.locator("button.authorize").click();
    await page.locator("button.btn-done").first().click();

    expect(await tryMe(page)).toMatchObject({ username, role: "user" });

    if (process.env.UPDATE_SCREENSHOT === "1") {
      await page.screenshot({ path: screenshot, fullPage: true });
    }
    await page.close();
  });

  test("Swagger UI: the OAuth2 password flow obtains a token at /auth/token, and GET /auth/me answers 200 with it", async () => {
    const { username, password } = await newUser("docs_oauth");
    const page = await open("/docs");
    const tokenAnswers: number[] = [];
    page.on("response", (response) => {
      if (new URL(response.url()).pathname === "/auth/token") tokenAnswers.push(response.status());
    });
    await page.locator(".swagger-ui .info .title", { hasText: "authlog" }).waitFor();

    await page.locator("button.authorize").first().click();
    const oauth = page.locator(".auth-container", { hasText: "OAuth2, password" });
    await oauth.locator("#oauth_username").fill(username);
    await oauth.locator("#oauth_password").fill(password);
    await oauth.locator("button.authorize").click();
    // Swagger UI replaces the form with the authorized state once the token has come.
    await oauth.getByText("Authorized", { exact: true }).waitFor();
    expect(tokenAnswers).toEqual([200]);
    await page.locator("button.btn-done").first().click();

    expect(await tryMe(page)).toMatchObject({ username, role: "user" });
    await page.close();
  });

  test("ReDoc (/redoc) renders every operation, its examples, and finds one by its search", async () => {
    const page = await open("/redoc");
    await page.locator("h1", { hasText: "authlog" }).first().waitFor();
    await page.locator("h2", { hasText: "The caller's account" }).first().waitFor();
    await page.locator("h2", { hasText: "Fibonacci F(n)" }).waitFor();
    expect(await page.locator("h2").count()).toBeGreaterThanOrEqual(15);
    const heavy = page.locator('[id="tag/secure/operation/getSecureHeavy-task"]');
    await heavy.getByText("n=30").waitFor();
    await heavy.getByRole("tab", { name: "422" }).click();
    await heavy.getByText('"Unprocessable Content"').waitFor();
    await heavy.getByText('"n is not an integer from 0 to 100000, in decimal digits."').waitFor();
    // Its search index is built in a worker from a blob URL, which the policy has to allow.
    await page.getByPlaceholder("Search...").fill("Fibonacci");
    await page.locator('[data-role="search:results"]', { hasText: "Fibonacci F(n)" }).waitFor();
    await page.close();
  });

  test("the pages asked for nothing beyond this server and broke no security policy", () => {
    expect(opened).toEqual(["/docs", "/docs", "/redoc"]);
    expect(blocked).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});

import { afterEach, describe, expect, test } from "bun:test";
import { Exit } from "effect";
import { logout } from "../../src/application/logout.ts";
import { logoutAll } from "../../src/application/logoutAll.ts";
import { refresh } from "../../src/application/refresh.ts";
import type { TokenPair } from "../../src/application/sessions.ts";
import { sessionStream } from "../../src/domain/session/SessionEvents.ts";
import {
  authenticateAll,
  loginAs,
  outcome,
  registerUser,
  streamOf,
  type TestApp,
  testApps,
} from "./layers.ts";

const apps = testApps();
afterEach(apps.disposeAll);

const graceMs = 10_000;

const rotate = (app: TestApp, pair: TokenPair) => app.run(refresh(pair.refreshToken, {}));

describe("refresh", () => {
  test("a rotation returns a new refresh token and a live access token", async () => {
    const app = apps.make({ auth: { refreshGraceMs: graceMs } });
    await registerUser(app, "alice");
    const { pair: first } = await loginAs(app, "alice");
    const second = await app.ok(refresh(first.refreshToken, {}));
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(await authenticateAll(app, [second])).toEqual(["success"]);
    // The new token is the session's current one: it rotates in turn.
    const third = await app.ok(refresh(second.refreshToken, {}));
    expect(third.refreshToken).not.toBe(second.refreshToken);
  });

  test("the token a rotation replaced, within the grace window, answers with the current one", async () => {
    const app = apps.make({ auth: { refreshGraceMs: graceMs } });
    await registerUser(app, "alice");
    const { pair: first, principal } = await loginAs(app, "alice");
    const second = await app.ok(refresh(first.refreshToken, {}));
    app.advance(graceMs - 1_000);
    const again = await app.ok(refresh(first.refreshToken, {}));
    expect(again.refreshToken).toBe(second.refreshToken);
    expect(await authenticateAll(app, [again])).toEqual(["success"]);
    // Honouring it rotated nothing: one rotation in the session's stream.
    const types = (await streamOf(app, sessionStream(principal.sid))).map((e) => e.type);
    expect(types).toEqual(["SessionStarted", "RefreshTokenRotated"]);
  });

  test("the replaced token past the grace window is reuse: the session is revoked", async () => {
    const app = apps.make({ auth: { refreshGraceMs: graceMs } });
    await registerUser(app, "alice");
    const { pair: first } = await loginAs(app, "alice");
    const second = await app.ok(refresh(first.refreshToken, {}));
    app.advance(graceMs + 1_000);
    expect(outcome(await rotate(app, first))).toBe("RefreshTokenReused");
    expect(outcome(await rotate(app, second))).toBe("TokenRejected");
  });

  test("an older refresh token fails RefreshTokenReused, then every token of its session is refused", async () => {
    const app = apps.make({ auth: { refreshGraceMs: graceMs } });
    await registerUser(app, "alice");
    const { pair: first } = await loginAs(app, "alice");
    const { pair: otherLogin } = await loginAs(app, "alice");
    const second = await app.ok(refresh(first.refreshToken, {}));
    const third = await app.ok(refresh(second.refreshToken, {}));

    expect(outcome(await rotate(app, first))).toBe("RefreshTokenReused");

    expect(await authenticateAll(app, [first, second, third])).toEqual([
      "TokenRejected",
      "TokenRejected",
      "TokenRejected",
    ]);
    expect(outcome(await rotate(app, third))).toBe("TokenRejected");
    expect(outcome(await rotate(app, second))).toBe("TokenRejected");
    // The user's other login is another session: it lives on.
    expect(await authenticateAll(app, [otherLogin])).toEqual(["success"]);
    expect(outcome(await rotate(app, otherLogin))).toBe("success");
  });

  test("racing refreshes of one token all succeed with the same new refresh token", async () => {
    const app = apps.make({ auth: { refreshGraceMs: graceMs } });
    await registerUser(app, "alice");
    const { pair: first, principal } = await loginAs(app, "alice");
    const exits = await Promise.all(Array.from({ length: 6 }, () => rotate(app, first)));
    expect(exits.map(outcome)).toEqual(Array(6).fill("success"));
    expect(app.conflicts()).toBeGreaterThan(0);
    const refreshTokens = new Set(
      exits.map((exit) => (Exit.isSuccess(exit) ? exit.value.refreshToken : null)),
    );
    expect(refreshTokens.size).toBe(1);
    expect(refreshTokens.has(first.refreshToken)).toBe(false);
    const types = (await streamOf(app, sessionStream(principal.sid))).map((e) => e.type);
    expect(types).toEqual(["SessionStarted", "RefreshTokenRotated"]);
  });

  test("after logoutAll every refresh token of the user fails TokenRejected", async () => {
    const app = apps.make();
    await registerUser(app, "alice");
    const { pair: first, principal } = await loginAs(app, "alice");
    const { pair: second } = await loginAs(app, "alice");
    const rotated = await app.ok(refresh(first.refreshToken, {}));

    await app.ok(logoutAll(principal, {}));

    for (const pair of [first, second, rotated]) {
      expect(outcome(await rotate(app, pair))).toBe("TokenRejected");
    }
    expect(await authenticateAll(app, [first, second, rotated])).toEqual([
      "TokenRejected",
      "TokenRejected",
      "TokenRejected",
    ]);
    // A fresh login is not touched by the logout that came before it.
    const { pair: later } = await loginAs(app, "alice");
    expect(outcome(await rotate(app, later))).toBe("success");
  });

  test("logout ends only the presented session: its refresh token fails TokenRejected", async () => {
    const app = apps.make();
    await registerUser(app, "alice");
    const { pair: ended } = await loginAs(app, "alice");
    const { pair: kept } = await loginAs(app, "alice");
    await app.ok(logout({ refreshToken: ended.refreshToken }, {}));
    expect(outcome(await rotate(app, ended))).toBe("TokenRejected");
    expect(await authenticateAll(app, [ended, kept])).toEqual(["TokenRejected", "success"]);
    // Logging out twice is fine.
    expect(outcome(await app.run(logout({ refreshToken: ended.refreshToken }, {})))).toBe(
      "success",
    );
  });

  test("an access token re-issued in the grace window expires with its session: a logout holds to its end", async () => {
    const day = 86_400;
    const app = apps.make({
      auth: { accessTokenSeconds: day, refreshTokenSeconds: day, refreshGraceMs: 300_000 },
    });
    await registerUser(app, "alice");
    const { pair: first } = await loginAs(app, "alice");
    app.advance(1_000);
    const rotated = await app.ok(refresh(first.refreshToken, {}));
    app.advance(200_000);
    // The replaced token, within the grace window: the session's expiry is the rotation's.
    const again = await app.ok(refresh(first.refreshToken, {}));
    expect(again.expiresIn).toBeLessThanOrEqual(day - 200);
    const exp = (token: string) =>
      (
        JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString()) as {
          exp: number;
        }
      ).exp;
    expect(exp(again.accessToken)).toBeLessThanOrEqual(Math.floor(rotated.refreshExpiresAt / 1000));
    await app.ok(logout({ accessToken: again.accessToken }, {}));
    // A second before the token's own expiry, its session's revocation still refuses it.
    app.advance((exp(again.accessToken) - 1) * 1000 - app.now());
    expect(await authenticateAll(app, [again])).not.toEqual(["success"]);
  });
});

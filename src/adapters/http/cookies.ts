import type { TokenPair } from "../../application/sessions.ts";

export const refreshCookieName = "refresh_token";

export type CookieJar = Record<
  string,
  { value: unknown; set: (config: Record<string, unknown>) => unknown } | undefined
>;

export const refreshCookies = (secure: boolean) => {
  const set = (cookie: CookieJar, value: string, lifetime: Record<string, unknown>) =>
    cookie[refreshCookieName]?.set({
      value,
      httpOnly: true,
      sameSite: "strict",
      path: "/auth",
      secure,
      ...lifetime,
    });
  return {
    presented: (cookie: CookieJar) => {
      const value = cookie[refreshCookieName]?.value;
      return typeof value === "string" && value !== "" ? value : undefined;
    },
    tokens: (cookie: CookieJar) => (pair: TokenPair) => {
      set(cookie, pair.refreshToken, { expires: new Date(pair.refreshExpiresAt) });
      return {
        access_token: pair.accessToken,
        token_type: "bearer" as const,
        expires_in: pair.expiresIn,
      };
    },
    clear: (cookie: CookieJar) => set(cookie, "", { maxAge: 0 }),
  };
};

export type RefreshCookies = ReturnType<typeof refreshCookies>;

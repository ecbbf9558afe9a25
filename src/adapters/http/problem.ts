export type Problem = {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly [extra: string]: unknown;
};

const titles: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export const realm = 'Bearer realm="authlog"';

/** What a client authenticating with its id and secret is asked for (RFC 6749 2.3.1). */
export const basicRealm = 'Basic realm="authlog", charset="UTF-8"';

/** The body of a problem answer; the OpenAPI document's examples are built with it too. */
export const problemBody = (
  status: number,
  detail: string,
  extra: Record<string, unknown> = {},
): Problem => ({ type: "about:blank", title: titles[status] ?? "Error", status, detail, ...extra });

export const problem = (
  status: number,
  detail: string,
  options: {
    readonly headers?: Record<string, string> | undefined;
    readonly extra?: Record<string, unknown> | undefined;
  } = {},
): Response => {
  const body = problemBody(status, detail, options.extra);
  const headers: Record<string, string> = {
    "content-type": "application/problem+json",
    ...options.headers,
  };
  if (status === 401 && !headers["www-authenticate"]) headers["www-authenticate"] = realm;
  if (status === 503 && !headers["retry-after"]) headers["retry-after"] = "1";
  return new Response(JSON.stringify(body), { status, headers });
};

import { Elysia } from "elysia";
import type { Metadata } from "../../application/ports/EventStore.ts";
import { clientIp as clientAddress, trustedSet } from "./clientIp.ts";
import { requestIdOf } from "./observability.ts";

export type ContextOptions = {
  /** Peers whose X-Forwarded-For names the client; from anyone else the header is ignored. */
  readonly trustedProxies: readonly string[];
  readonly peerAddress?: (request: Request) => string | undefined;
};

export const requestContext = (options: ContextOptions) => {
  const trusted = trustedSet(options.trustedProxies);
  return new Elysia().derive({ as: "scoped" }, ({ request, server }) => {
    const requestId = requestIdOf(request);
    const clientIp = clientAddress(
      options.peerAddress?.(request) ?? server?.requestIP(request)?.address,
      request.headers.get("x-forwarded-for"),
      trusted,
    );
    const userAgent = request.headers.get("user-agent") ?? undefined;
    const metadata: Metadata = {
      requestId,
      ...(clientIp ? { clientIp } : {}),
      ...(userAgent ? { userAgent } : {}),
    };
    return { metadata };
  });
};

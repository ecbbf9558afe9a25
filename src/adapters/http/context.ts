import { Elysia } from "elysia";
import type { Metadata } from "../../application/ports/EventStore.ts";
import { clientIp as clientAddress, trustedSet } from "./clientIp.ts";
import { requestIdOf } from "./observability.ts";

export type ContextOptions = {
  /** Peers whose X-Forwarded-For names the client; from anyone else the header is ignored. */
  readonly trustedProxies: readonly string[];
  /** The socket peer of a request, where the server is not Bun's (Bun's answers `requestIP`). */
  readonly peerAddress?: (request: Request) => string | undefined;
};

/** `metadata` for the routes that write events: the request id and the client's address. */
export const requestContext = (options: ContextOptions) => {
  const trusted = trustedSet(options.trustedProxies);
  return new Elysia().derive({ as: "scoped" }, ({ request, server, headers }) => {
    const requestId = requestIdOf(request);
    const clientIp = clientAddress(
      options.peerAddress?.(request) ?? server?.requestIP(request)?.address,
      headers["x-forwarded-for"],
      trusted,
    );
    const metadata: Metadata = clientIp ? { requestId, clientIp } : { requestId };
    return { metadata };
  });
};

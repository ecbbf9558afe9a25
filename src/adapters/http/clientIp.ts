import { isIP } from "node:net";

/** One spelling per address: no brackets or port, IPv4-mapped IPv6 as plain IPv4, lower case. */
export const normaliseIp = (address: string): string => {
  let value = address.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (bracketed?.[1]) value = bracketed[1];
  const withPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(value);
  if (withPort?.[1]) value = withPort[1];
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(value);
  return mapped?.[1] ?? value.toLowerCase();
};

/**
 * The client's address. The socket's peer, unless the peer is a trusted proxy: then
 * X-Forwarded-For is read from the right, past the trusted proxies, and the first other
 * address is the client. Entries left of it were written by the client and are ignored, so a
 * client cannot pick the address its limits are counted against.
 */
export const clientIp = (
  socket: string | undefined,
  forwardedFor: string | null | undefined,
  trusted: ReadonlySet<string>,
): string | undefined => {
  if (socket === undefined) return undefined;
  let client = normaliseIp(socket);
  if (!forwardedFor) return client;
  const hops = forwardedFor.split(",").map(normaliseIp);
  for (let i = hops.length - 1; i >= 0 && trusted.has(client); i--) {
    const hop = hops[i] ?? "";
    // A proxy writes valid addresses: anything else came from the client side; stop before it.
    if (isIP(hop) === 0) break;
    client = hop;
  }
  return client;
};

export const trustedSet = (proxies: readonly string[]): ReadonlySet<string> =>
  new Set(proxies.map(normaliseIp));

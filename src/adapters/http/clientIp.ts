import { isIP } from "node:net";

export const normaliseIp = (address: string): string => {
  let value = address.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (bracketed?.[1]) value = bracketed[1];
  const withPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(value);
  if (withPort?.[1]) value = withPort[1];
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(value);
  return mapped?.[1] ?? value.toLowerCase();
};

/** The socket peer or, past trusted proxies, the rightmost other X-Forwarded-For (decision 19). */
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
    // A proxy writes valid addresses: anything else came from the client side.
    if (isIP(hop) === 0) break;
    client = hop;
  }
  return client;
};

export const trustedSet = (proxies: readonly string[]): ReadonlySet<string> =>
  new Set(proxies.map(normaliseIp));

import net from "node:net";
import postgres from "postgres";

export type Sql = postgres.Sql;

export type PostgresOptions = {
  readonly url: string;
  readonly schema?: string;
  readonly max?: number;
  readonly connectTimeoutSeconds?: number;
};

const reconnectCapSeconds = 0.25;

export const quoteIdentifier = (name: string) => `"${name.replaceAll('"', '""')}"`;

type Target = { readonly host: string[]; readonly port: number[]; readonly path?: string };

let next = 0;

/**
 * postgres.js hears of a dropped connection only from "close"; a socket the server closed under
 * a write may only "end" on Bun, and its query would wait for ever. Handed over while still
 * connecting, as postgres.js's own sockets are: until it has one, a query sent to the
 * connection would be written to no socket at all, and that throws outside any query.
 */
const connect = ({ host, port, path }: Target) => {
  const at = next++ % host.length;
  const socket = path ? net.connect(path) : net.connect(port[at] ?? 5432, host[at]);
  // After the writes postgres.js has already scheduled: it forgets its socket on "close", and a
  // write still pending then would find none.
  socket.once("end", () => setImmediate(() => socket.destroy()));
  return socket;
};

export const createSql = (options: PostgresOptions): Sql =>
  postgres(options.url, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? 5,
    onnotice: () => {},
    // Documented by postgres.js, missing from its types.
    socket: connect,
    // The default backoff grows to 20 s, counted across the pool: after an outage a query could
    // wait on a connection still backing off long after the server is back and ready.
    backoff: (attempt: number) => Math.min(0.01 * 2 ** attempt, reconnectCapSeconds),
    ...(options.schema === undefined
      ? {}
      : { connection: { search_path: quoteIdentifier(options.schema) } }),
  } as postgres.Options<Record<string, postgres.PostgresType>>);

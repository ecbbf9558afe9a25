import postgres from "postgres";

export type Sql = postgres.Sql;

export type PostgresOptions = {
  readonly url: string;
  readonly schema?: string;
  readonly max?: number;
  readonly connectTimeoutSeconds?: number;
};

export const quoteIdentifier = (name: string) => `"${name.replaceAll('"', '""')}"`;

export const createSql = (options: PostgresOptions): Sql =>
  postgres(options.url, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? 5,
    onnotice: () => {},
    ...(options.schema === undefined
      ? {}
      : { connection: { search_path: quoteIdentifier(options.schema) } }),
  });

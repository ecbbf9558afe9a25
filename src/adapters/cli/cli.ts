import { userInfo } from "node:os";
import { Cause, Effect, Exit, type Layer, ManagedRuntime } from "effect";
import { disableUser, enableUser, listUsers, logoutUser } from "../../application/accounts.ts";
import { changeRole } from "../../application/changeRole.ts";
import { createClient, listClients, revokeClient } from "../../application/clients.ts";
import { eraseUser } from "../../application/erase.ts";
import type { AppError } from "../../application/errors.ts";
import { UserNotFound } from "../../application/errors.ts";
import { inspectToken } from "../../application/inspectToken.ts";
import { type KeyListing, listKeys } from "../../application/keys/listKeys.ts";
import { revokeKey } from "../../application/keys/revokeKey.ts";
import { rotateKeys } from "../../application/keys/rotateKeys.ts";
import type { AppServices } from "../../application/services.ts";
import { userEvents } from "../../application/userEvents.ts";
import { createUser, findUserId } from "../../application/users.ts";
import {
  infrastructure,
  keptSecrets,
  logServices,
  services,
  upgradeServices,
} from "../../composition.ts";
import { isRole } from "../../domain/Role.ts";
import { formatConfigErrors, loadConfig } from "../config/Config.ts";
import { inspectionBody } from "../http/controllers/admin.ts";
import type { Logger } from "../logging/jsonLogger.ts";
import { parseCommandLine } from "./args.ts";
import { replayCommand } from "./replay.ts";
import { upgradePersonalData } from "./upgrade.ts";
import { run as runOnLog, sealCommand, verifyLogCommand } from "./verifyLog.ts";

const usage = `Usage: bun run cli <command>

  create-user <username> [--role user|admin] [--password-stdin]
      Registers a user. The password comes from stdin with --password-stdin, otherwise from
      the AUTHLOG_PASSWORD environment variable; never from the command line.
  change-role <username> <user|admin>
      Sets a user's role; every token the user holds stops working at once.
  events <username|id> [--json]
      Prints the user's and their sessions' events, oldest first, hashes stripped.
  replay [--verify] [--projection tokens|directory|all]
      Rebuilds the projections from the event log (safe while the API serves traffic): the
      Redis token state, the user directory, or both (the default); --verify compares them
      with the log instead and exits 1 on any difference.
  seal
      Appends a LogSealed event: a signed Merkle root of every stream's newest hash.
  verify-log
      Checks every event's hash chain and the newest seal; names the first broken stream and
      version and exits 1 on any break, missing tail or removed stream.
  upgrade-personal-data
      Once, after upgrading from a version without erasure: seals the plain usernames, IP
      addresses and user agents of older events under their users' keys, re-chains the
      rewritten streams and seals the log anew. Safe to interrupt and run again; on PostgreSQL
      it runs beside the API, embedded the server must be stopped (docs/operations.md).
  users list [--q <part of a username>]
      Prints users in creation order: id, username, role, status, created, last login, sessions.
  users disable <username> [--until <date-time>] [--reason <text>]
      Disables an account: every token of the user stops working at once.
  users enable <username>
      Enables a disabled account.
  users logout <username>
      Ends every session of the user.
  users erase <username>
      Erases the user: their data key is destroyed (the username, IP addresses and user agents
      in the log read "[erased]" from then on), every token dies, the username is free again.
  clients create <name>
      Registers a client (a service that calls POST /oauth/introspect) and prints its
      client_id and client_secret; the secret is shown this once and never stored.
  clients list
      Prints every client: id, name, status, created, revoked.
  clients revoke <client_id>
      Revokes a client: its credentials are refused from the next call on.
  keys list [--json]
      Shows every signing key (ALGORITHM ES256 or EdDSA) with its state and dates.
  keys rotate
      The next key signs from now on, the active one retires, a new next key is published.
  keys revoke <kid> [--reason TEXT]
      The key verifies nothing more: here at once, on every running instance within a second.
  tokens inspect <token> [--at ISO-TIME]
      Would this access token have been accepted at that time (default now), and if not, which
      event refused it: decided from the log. Prints JSON; exits 0 either way.

Exit codes: 0 done, 1 refused (invalid input, name taken, no such user, last admin),
2 usage or configuration error, 3 the event store or Redis is unavailable.`;

const exitCodes = { done: 0, refused: 1, usage: 2, unavailable: 3 } as const;

const reasonOf = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause));

function fail(message: string, code: number): never {
  console.error(message);
  process.exit(code);
}

const { positionals, values } = (() => {
  try {
    return parseCommandLine(process.argv.slice(2), {
      role: { type: "string" },
      "password-stdin": { type: "boolean" },
      json: { type: "boolean" },
      verify: { type: "boolean" },
      projection: { type: "string" },
      q: { type: "string" },
      until: { type: "string" },
      reason: { type: "string" },
      at: { type: "string" },
      help: { type: "boolean", short: "h" },
    });
  } catch (error) {
    return fail(`${(error as Error).message}\n\n${usage}`, exitCodes.usage);
  }
})();

// A command of two words (`clients create`, `keys list`) is one command.
const [word, ...words] = positionals;
const [command, rest] =
  (word === "clients" || word === "keys" || word === "users" || word === "tokens") &&
  words[0] !== undefined
    ? [`${word} ${words[0]}`, words.slice(1)]
    : [word, words];
if (values.help || (command === "help" && rest.length === 0)) {
  console.log(usage);
  process.exit(exitCodes.done);
}

const arity: Record<string, number> = {
  "create-user": 1,
  "change-role": 2,
  events: 1,
  replay: 0,
  seal: 0,
  "verify-log": 0,
  "upgrade-personal-data": 0,
  "clients create": 1,
  "clients list": 0,
  "users list": 0,
  "users disable": 1,
  "users enable": 1,
  "users logout": 1,
  "users erase": 1,
  "clients revoke": 1,
  "keys list": 0,
  "keys rotate": 0,
  "keys revoke": 1,
  "tokens inspect": 1,
};
if (command === undefined) fail(usage, exitCodes.usage);
if (arity[command] !== rest.length) {
  fail(`Unknown command or wrong arguments: ${positionals.join(" ")}\n\n${usage}`, exitCodes.usage);
}

const readPassword = async (): Promise<string> => {
  if (values["password-stdin"]) return (await Bun.stdin.text()).replace(/\r?\n$/, "");
  const fromEnv = process.env.AUTHLOG_PASSWORD;
  if (fromEnv) return fromEnv;
  return fail(
    "A password is needed: pipe it with --password-stdin or set AUTHLOG_PASSWORD.",
    exitCodes.usage,
  );
};

const at = values.at === undefined ? undefined : Date.parse(values.at);
if (Number.isNaN(at)) fail("--at must be an ISO 8601 date-time", exitCodes.usage);

const role = values.role ?? "user";
if (command === "create-user" && !isRole(role))
  fail("--role must be user or admin", exitCodes.usage);
const password = command === "create-user" ? await readPassword() : "";

const loaded = loadConfig(process.env);
if (!loaded.ok) fail(formatConfigErrors(loaded.errors), exitCodes.usage);
const config = (() => {
  try {
    return keptSecrets(loaded.config);
  } catch (error) {
    return fail(`Cannot read the secrets kept in DATA_DIR: ${reasonOf(error)}`, exitCodes.usage);
  }
})();
const projection = values.projection ?? "all";
if (projection !== "tokens" && projection !== "directory" && projection !== "all") {
  fail("--projection must be tokens, directory or all", exitCodes.usage);
}
if (command === "replay") {
  process.exit(await replayCommand(config, values.verify === true, projection));
}
if (command === "verify-log") process.exit(await verifyLogCommand(logServices(config)));
if (command === "upgrade-personal-data") {
  process.exit(
    await runOnLog(upgradeServices(config), upgradePersonalData(`cli:${userInfo().username}`)),
  );
}
if (command === "seal") {
  process.exit(await sealCommand(logServices(config), `cli:${userInfo().username}`));
}

const log: Logger = (level, message, fields) => {
  if (level !== "info") console.error(JSON.stringify({ level, message, ...fields }));
};
const layer: Layer.Layer<AppServices, AppError> = services(
  config,
  infrastructure(config, log),
  log,
);
const runtime = ManagedRuntime.make(layer);

const operator = `cli:${userInfo().username}`;
const metadata = { actor: operator, requestId: crypto.randomUUID() };

const unavailable = "is unavailable; nothing was changed.";

const describe = (error: AppError): readonly [string, number] => {
  const refused = (text: string) => [text, exitCodes.refused] as const;
  const down = (text: string) => [text, exitCodes.unavailable] as const;
  switch (error._tag) {
    case "ValidationFailed":
      return refused(
        `Invalid input: ${error.fields.map((f) => `${f.name} must be ${f.rule}`).join("; ")}`,
      );
    case "UsernameTaken":
      return refused("That username is taken.");
    case "UserNotFound":
      return refused("No such user.");
    case "LastAdmin":
      return refused("That would leave no admin: promote another user first.");
    case "ClientNotFound":
      return refused("No such client.");
    case "SigningKeyNotFound":
      return refused("No signing key has that kid (see: keys list).");
    case "KeysNotManaged":
      return refused("ALGORITHM is HS256: tokens are signed with JWT_SECRET, there are no keys.");
    case "AccountDisabled":
    case "SessionNotFound":
    case "RoleRequired":
    case "InvalidClient":
    case "InvalidCredentials":
    case "TokenRejected":
    case "RefreshTokenReused":
    case "AccountChanged":
    case "RateLimited":
      return refused(error._tag);
    case "Contended":
      return down("Too many changes to this account at once; retry.");
    case "StoreUnavailable": {
      const why = reasonOf(error.cause);
      // Embedded mode: the running server holds the data directory.
      return why.includes("in use by another process")
        ? down(
            `${why}: stop the server first, or use the admin routes (POST /auth/change-role, GET /admin/users/{id}/events).`,
          )
        : down(`The event store did not answer (${why}); check before retrying.`);
    }
    case "DirectoryUnavailable":
      return down(`The user directory ${unavailable}`);
    case "TokenStateUnavailable":
    case "ProjectionIncomplete":
    case "RateLimiterUnavailable":
    case "ComputerSaturated":
      return down(`Redis ${unavailable}`);
    case "ProjectionBehind":
      return down("Redis is unavailable; the change is recorded and applies shortly.");
  }
};

const day = (ms: number | null) => (ms === null ? "-" : new Date(ms).toISOString());

const printKeys = (listing: KeyListing) => {
  console.log(`algorithm ${listing.algorithm}`);
  for (const key of listing.keys) {
    const dates = [
      `created=${day(key.createdAt)}`,
      `activated=${day(key.activatedAt)}`,
      `retired=${day(key.retiredAt)}`,
      `revoked=${day(key.revokedAt)}`,
      `verifies-until=${key.verifiesUntil === null ? "-" : day(key.verifiesUntil)}`,
    ];
    const reason =
      key.revocationReason === null ? [] : [`reason=${JSON.stringify(key.revocationReason)}`];
    const columns = [
      key.kid,
      key.alg,
      key.state,
      ...dates,
      key.published ? "published" : "unpublished",
    ];
    console.log([...columns, ...reason].join("\t"));
  }
};

const program = Effect.gen(function* () {
  const [one = "", two = ""] = rest;
  switch (command) {
    case "create-user": {
      const user = yield* createUser(
        { username: one, password, role: isRole(role) ? role : "user" },
        metadata,
      );
      console.log(`created ${user.role} ${user.username} (id ${user.id})`);
      return;
    }
    case "change-role": {
      const user = yield* changeRole({ username: one, role: two }, { operator }, metadata);
      console.log(`${user.username} (id ${user.id}) is now ${user.role}`);
      return;
    }
    case "keys list": {
      const listing = yield* listKeys();
      if (values.json) console.log(JSON.stringify(listing, null, 2));
      else printKeys(listing);
      return;
    }
    case "keys rotate":
      printKeys(yield* rotateKeys(metadata));
      return;
    case "keys revoke":
      printKeys(yield* revokeKey({ kid: one, reason: values.reason }, metadata));
      return;
    case "tokens inspect":
      console.log(JSON.stringify(inspectionBody(yield* inspectToken(one, at)), null, 2));
      return;
    case "events": {
      const id = (yield* findUserId(one)) ?? one;
      const events = yield* userEvents(id, { operator });
      if (values.json) {
        console.log(JSON.stringify(events, null, 2));
        return;
      }
      for (const event of events) {
        const who = [
          `actor=${event.actor ?? "-"}`,
          `ip=${event.clientIp ?? "-"}`,
          `request=${event.requestId ?? "-"}`,
        ].join(" ");
        const when = event.recordedAt.toISOString();
        const data = JSON.stringify(event.data);
        console.log([event.position, when, event.stream, event.type, who, data].join("\t"));
      }
      return;
    }
    case "clients create": {
      const client = yield* createClient(one, metadata);
      // Shell assignments: `eval "$(bun run cli clients create NAME)"` keeps both.
      console.log(`client_id=${client.id}\nclient_secret=${client.secret}`);
      console.error("The secret is shown only now: keep it where the client can read it.");
      return;
    }
    case "clients list": {
      for (const client of yield* listClients) {
        const status = client.revokedAt === null ? "active" : "revoked";
        const times = [client.createdAt, client.revokedAt].map((at) => at?.toISOString() ?? "-");
        console.log([client.id, client.name, status, ...times].join("\t"));
      }
      return;
    }
    case "users list": {
      let cursor: string | undefined;
      do {
        const page = yield* listUsers({ q: values.q, limit: "100", cursor });
        for (const user of page.items) {
          const times = [user.createdAt, user.lastLoginAt].map((at) =>
            at === null ? "-" : new Date(at).toISOString(),
          );
          console.log(
            [user.id, user.username, user.role, user.status, ...times, user.sessions].join("\t"),
          );
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      return;
    }
    case "users disable":
    case "users enable":
    case "users logout":
    case "users erase": {
      const id = yield* findUserId(one);
      if (id === null) return yield* new UserNotFound();
      if (command === "users erase") {
        yield* eraseUser(id, { operator }, metadata);
        console.log(`${one} (id ${id}) is erased`);
        return;
      }
      if (command === "users logout") {
        yield* logoutUser(id, { operator }, metadata);
        console.log(`every session of ${one} is ended`);
        return;
      }
      const user =
        command === "users enable"
          ? yield* enableUser(id, { operator }, metadata)
          : yield* disableUser(
              id,
              { reason: values.reason ?? "disabled by an operator", until: values.until },
              { operator },
              metadata,
            );
      console.log(`${user.username} (id ${user.id}) is ${user.status}`);
      return;
    }
    case "clients revoke": {
      yield* revokeClient(one, metadata);
      console.log(`client ${one} is revoked`);
    }
  }
});

const exit = await runtime.runPromiseExit(program as Effect.Effect<void, AppError, AppServices>);
await runtime.dispose();
if (Exit.isSuccess(exit)) process.exit(exitCodes.done);
const failure = exit.cause.reasons.find(Cause.isFailReason);
if (failure === undefined) {
  console.error(`Failed: ${Cause.pretty(exit.cause)}`);
  process.exit(exitCodes.unavailable);
}
// A tag outside the use cases' errors comes from opening the stores.
const error = failure.error as AppError | { readonly _tag: string; readonly cause?: unknown };
const [text, code] = describe(error as AppError) ?? [
  `Cannot open the event store or Redis: ${reasonOf("cause" in error ? error.cause : error._tag)}`,
  exitCodes.unavailable,
];
console.error(text);
process.exit(code);

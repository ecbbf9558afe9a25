import { Clock, Effect } from "effect";
import { type AccountDecision, decideDisable, decideEnable } from "../domain/admin/AdminSet.ts";
import { isRole, roles } from "../domain/Role.ts";
import { type ActiveUser, decideUser, evolveUser, isDisabledAt } from "../domain/user/User.ts";
import { userStream } from "../domain/user/UserEvents.ts";
import { appendAccountDecision } from "./accountDecision.ts";
import type { Caller } from "./changeRole.ts";
import { UserNotFound, ValidationFailed } from "./errors.ts";
import { decideAndAppend, loadAdminRoster, loadUser, retryOnConflict } from "./events.ts";
import { Directory, type DirectoryUser, type UserQuery } from "./ports/Directory.ts";
import type { Metadata } from "./ports/EventStore.ts";

const reasonMaxLength = 200;
export const pageLimit = { min: 1, max: 100, fallback: 50 } as const;

const actorOf = (caller: Caller) => ("admin" in caller ? caller.admin : caller.operator);
const callerId = (caller: Caller) => ("admin" in caller ? caller.admin : null);

/** The account as the directory shows it, its status and role from the log, which never trails. */
const accountView = (user: ActiveUser, createdAt: Date, now: number) =>
  Effect.gen(function* () {
    const listed = yield* (yield* Directory).user(user.id, now);
    const disabled = isDisabledAt(user, now);
    return {
      id: user.id,
      username: user.username,
      role: user.role,
      status: disabled ? "disabled" : "active",
      createdAt: createdAt.getTime(),
      lastLoginAt: listed?.lastLoginAt ?? null,
      sessions: disabled ? 0 : (listed?.sessions ?? 0),
    } satisfies DirectoryUser;
  });

const applyAccountDecision = (
  userId: string,
  decide: (
    target: Effect.Success<ReturnType<typeof loadUser>>,
    roster: Effect.Success<typeof loadAdminRoster>,
  ) => AccountDecision,
  metadata: Metadata,
) =>
  retryOnConflict(
    Effect.gen(function* () {
      const [target, roster] = yield* Effect.all([loadUser(userId), loadAdminRoster], {
        concurrency: 2,
      });
      const decision = decide(target, roster);
      const applied = yield* appendAccountDecision(
        userId,
        decision,
        { user: target.version, admins: roster.version },
        metadata,
      );
      const user = applied.user.reduce(evolveUser, target.state);
      if (user.status !== "active") return yield* Effect.die(new Error("user vanished"));
      return { user, createdAt: target.records[0]?.recordedAt ?? new Date(0) };
    }),
  );

/**
 * Every token of the user dies before this returns (the epoch moves, projected inline). The
 * disable lands in the admin set's stream too, so racing disables never leave no active admin.
 */
export const disableUser = Effect.fn("disableUser")(function* (
  userId: string,
  request: { readonly reason: string; readonly until?: string | undefined },
  caller: Caller,
  metadata: Metadata,
) {
  const now = yield* Clock.currentTimeMillis;
  const until = request.until === undefined ? null : Date.parse(request.until);
  const fields = [
    ...(request.reason.length >= 1 && request.reason.length <= reasonMaxLength
      ? []
      : [{ name: "reason", rule: `1 to ${reasonMaxLength} characters` }]),
    ...(until === null || (Number.isFinite(until) && until > now)
      ? []
      : [{ name: "until", rule: "a date-time in the future (RFC 3339)" }]),
  ];
  if (fields.length > 0) return yield* new ValidationFailed({ fields });
  const by = actorOf(caller);
  const done = yield* applyAccountDecision(
    userId,
    (target, roster) =>
      decideDisable(
        { reason: request.reason, until, caller: callerId(caller), by, now },
        target.state,
        roster.state,
      ),
    { ...metadata, actor: by },
  );
  return yield* accountView(done.user, done.createdAt, now);
});

export const enableUser = Effect.fn("enableUser")(function* (
  userId: string,
  caller: Caller,
  metadata: Metadata,
) {
  const now = yield* Clock.currentTimeMillis;
  const by = actorOf(caller);
  const done = yield* applyAccountDecision(
    userId,
    (target, roster) =>
      decideEnable({ caller: callerId(caller), by, now }, target.state, roster.state),
    { ...metadata, actor: by },
  );
  return yield* accountView(done.user, done.createdAt, now);
});

/** Every session of the user dies before this returns: the epoch moves. */
export const logoutUser = Effect.fn("logoutUser")(function* (
  userId: string,
  caller: Caller,
  metadata: Metadata,
) {
  const { decision } = yield* decideAndAppend(
    loadUser(userId),
    userStream(userId),
    (user) => decideUser({ type: "RevokeAllSessions", reason: "admin" }, user),
    { metadata: { ...metadata, actor: actorOf(caller) } },
  ).pipe(Effect.catchTag("ClaimTaken", (e) => Effect.die(e)));
  if (!decision.ok) return yield* new UserNotFound();
});

export type UserListRequest = {
  readonly q?: string | undefined;
  readonly role?: string | undefined;
  readonly status?: string | undefined;
  readonly limit?: string | undefined;
  readonly cursor?: string | undefined;
};

/** A cursor is the position in creation order after which the next page starts. */
const cursorOf = (after: number) => Buffer.from(`u:${after}`).toString("base64url");

const afterOf = (cursor: string): number | null => {
  const match = /^u:(\d{1,15})$/.exec(Buffer.from(cursor, "base64url").toString());
  return match?.[1] ? Number(match[1]) : null;
};

const parseQuery = (request: UserListRequest) => {
  const limit = request.limit === undefined ? pageLimit.fallback : Number(request.limit);
  const after = request.cursor === undefined ? 0 : afterOf(request.cursor);
  const fields = [
    ...(request.q === undefined || request.q.length <= 64
      ? []
      : [{ name: "q", rule: "at most 64 characters" }]),
    ...(request.role === undefined || isRole(request.role)
      ? []
      : [{ name: "role", rule: `one of ${roles.join(", ")}` }]),
    ...(request.status === undefined || request.status === "active" || request.status === "disabled"
      ? []
      : [{ name: "status", rule: "active or disabled" }]),
    ...(/^\d{1,3}$/.test(request.limit ?? "50") && limit >= pageLimit.min && limit <= pageLimit.max
      ? []
      : [{ name: "limit", rule: `an integer from ${pageLimit.min} to ${pageLimit.max}` }]),
    ...(after === null ? [{ name: "cursor", rule: "a next_cursor this API returned" }] : []),
  ];
  if (fields.length > 0) return Effect.fail(new ValidationFailed({ fields }));
  const query: UserQuery = {
    limit,
    after: after ?? 0,
    ...(request.q ? { q: request.q } : {}),
    ...(request.role !== undefined && isRole(request.role) ? { role: request.role } : {}),
    ...(request.status === "active" || request.status === "disabled"
      ? { status: request.status }
      : {}),
  };
  return Effect.succeed(query);
};

/** Read from the directory, which may trail the log by a moment. */
export const listUsers = Effect.fn("listUsers")(function* (request: UserListRequest) {
  const query = yield* parseQuery(request);
  const now = yield* Clock.currentTimeMillis;
  const page = yield* (yield* Directory).users(query, now);
  return { items: page.items, nextCursor: page.next === null ? null : cursorOf(page.next) };
});

export const getUser = Effect.fn("getUser")(function* (userId: string) {
  const directory = yield* Directory;
  const now = yield* Clock.currentTimeMillis;
  const user = yield* directory.user(userId, now);
  if (user === null) return yield* new UserNotFound();
  const sessions = yield* directory.sessions(userId, now);
  return { ...user, liveSessions: sessions };
});

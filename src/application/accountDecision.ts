import { Effect } from "effect";
import { type AccountDecision, adminSetStream } from "../domain/admin/AdminSet.ts";
import { userStream } from "../domain/user/UserEvents.ts";
import { LastAdmin, RoleRequired, UserNotFound } from "./errors.ts";
import { appendManyAndProject } from "./events.ts";
import type { Metadata } from "./ports/EventStore.ts";

/**
 * A decision over a user and the admin set: its refusal as the error the edges map, or its
 * events appended in one step to both streams, each at the version it was decided on, and
 * projected before this returns.
 */
export const appendAccountDecision = (
  userId: string,
  decision: AccountDecision,
  versions: { readonly user: number; readonly admins: number },
  metadata: Metadata,
) =>
  Effect.gen(function* () {
    if (!decision.ok) {
      switch (decision.error._tag) {
        case "UserNotFound":
          return yield* new UserNotFound();
        case "NotAnAdmin":
          return yield* new RoleRequired({ role: "admin" });
        case "LastAdmin":
          return yield* new LastAdmin();
      }
    }
    const appends = [
      { streamId: userStream(userId), events: decision.user, expectedVersion: versions.user },
      { streamId: adminSetStream, events: decision.admins, expectedVersion: versions.admins },
    ].filter((entry) => entry.events.length > 0);
    if (appends.length > 0) {
      yield* appendManyAndProject(appends, metadata).pipe(
        Effect.catchTag("ClaimTaken", (e) => Effect.die(e)),
      );
    }
    return decision;
  });

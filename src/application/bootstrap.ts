import { Effect } from "effect";
import { loadUser } from "./events.ts";
import { type Credentials, createUser, findUserId } from "./users.ts";

export type BootstrapOutcome = "created" | "exists" | "exists-not-admin";

export const bootstrapActor = "system:bootstrap";

/** Creates the admin if the name is free; an existing account is never promoted (decision 20). */
export const bootstrapAdmin = (admin: Credentials) => {
  const existing = Effect.gen(function* () {
    const id = yield* findUserId(admin.username);
    const user = id === null ? null : (yield* loadUser(id)).state;
    return user?.status === "active" && user.role === "admin"
      ? ("exists" as const)
      : ("exists-not-admin" as const);
  });
  return Effect.gen(function* () {
    if ((yield* findUserId(admin.username)) !== null) return yield* existing;
    return yield* createUser({ ...admin, role: "admin" }, { actor: bootstrapActor }).pipe(
      Effect.as<BootstrapOutcome>("created"),
      Effect.catchTag("UsernameTaken", () => existing),
    );
  });
};

import { Effect } from "effect";
import { loadUser } from "./events.ts";
import { type Credentials, createUser, findUserId } from "./users.ts";

/** `exists-not-admin`: the name belongs to an account that is not an admin; it was left alone. */
export type BootstrapOutcome = "created" | "exists" | "exists-not-admin";

export const bootstrapActor = "system:bootstrap";

/**
 * Creates the configured admin when the username is free. Idempotent and safe when several
 * instances start at once: the username claim lets exactly one creation land, and the others
 * find the name taken. An existing account of that name keeps its role and password: promoting
 * it would give admin to whoever registered the name first.
 */
export const bootstrapAdmin = (admin: Credentials) => {
  const existing = Effect.gen(function* () {
    const id = yield* findUserId(admin.username);
    const user = id === null ? null : (yield* loadUser(id)).state;
    return user?.status === "active" && user.role === "admin"
      ? ("exists" as const)
      : ("exists-not-admin" as const);
  });
  return Effect.gen(function* () {
    // Usually the admin exists: skip the password hash. The claim still settles any race.
    if ((yield* findUserId(admin.username)) !== null) return yield* existing;
    return yield* createUser({ ...admin, role: "admin" }, { actor: bootstrapActor }).pipe(
      Effect.as<BootstrapOutcome>("created"),
      Effect.catchTag("UsernameTaken", () => existing),
    );
  });
};

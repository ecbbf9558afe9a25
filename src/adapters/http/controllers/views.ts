import type { DirectorySession, DirectoryUser } from "../../../application/ports/Directory.ts";
import type { UserView } from "../../../application/users.ts";

export const userBody = (user: UserView) => ({
  id: user.id,
  username: user.username,
  role: user.role,
  created_at: user.createdAt.toISOString(),
});

// Built here: Elysia's own empty 204 carries an empty body, which Deno's Response refuses.
export const noContent = () => new Response(null, { status: 204 });

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

export const sessionBody = (session: DirectorySession) => ({
  id: session.id,
  created_at: iso(session.createdAt),
  last_used_at: isoOrNull(session.lastUsedAt),
  expires_at: iso(session.expiresAt),
  ip: session.ip,
  user_agent: session.userAgent,
});

export const adminUserBody = (user: DirectoryUser) => ({
  id: user.id,
  username: user.username,
  role: user.role,
  status: user.status,
  created_at: iso(user.createdAt),
  last_login_at: isoOrNull(user.lastLoginAt),
  sessions: user.sessions,
});

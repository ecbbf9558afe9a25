import type { UserView } from "../../../application/users.ts";

export const userBody = (user: UserView) => ({
  id: user.id,
  username: user.username,
  role: user.role,
  created_at: user.createdAt.toISOString(),
});

// Built here: Elysia's own empty 204 carries an empty body, which Deno's Response refuses.
export const noContent = () => new Response(null, { status: 204 });

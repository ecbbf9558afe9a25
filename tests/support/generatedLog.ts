/**
 * SQL that appends `users` generated users of 5 events each (a registration, then four access
 * revocations that stay in force for an hour): a log big enough that rebuilding it takes a
 * while, written behind whatever the test did before.
 */
export const generatedLog = (users: number) => `
  insert into events (stream_id, version, type, data)
  select 'user-gen-' || u, v,
    case when v = 1 then 'UserRegistered' else 'TokenRevoked' end,
    case when v = 1
      then jsonb_build_object('userId', 'gen-' || u, 'username', 'gen_' || u,
                              'passwordHash', 'x', 'role', 'user')
      else jsonb_build_object('userId', 'gen-' || u, 'tokenId', 't-' || v, 'kind', 'access',
                              'reason', 'logout',
                              'expiresAt', (extract(epoch from now()) * 1000 + 3600000)::bigint)
    end
  from generate_series(1, ${Math.trunc(users)}) u, generate_series(1, 5) v`;

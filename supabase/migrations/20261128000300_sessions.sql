-- Sessions that end: a server-side row per signed-in browser, and bearer tokens that expire.
--
-- The session cookie and the remember-me cookie carry a random secret; only its SHA-256 (token_hash) is
-- stored. Signing out, "sign out everywhere" and a password change set revoked_at; the app loads a user
-- only through a live row (not revoked, not expired). tests/test_sessions.py proves the policies below.

alter table public.api_tokens add column expires_at timestamptz;  -- null: never (older tokens)

create table public.sessions (
    id           uuid primary key,
    user_id      uuid not null references public.users (id) on delete cascade,
    token_hash   text not null unique,
    user_agent   text not null default '',
    created_at   timestamptz not null,
    last_used_at timestamptz not null,
    expires_at   timestamptz not null,
    revoked_at   timestamptz
);
create index ix_sessions_user_id on public.sessions (user_id);

revoke all on table public.sessions from public, anon, authenticated;
grant all on table public.sessions to service_role;

-- The server (the table owner) creates, checks and revokes sessions. A user's own transaction may only
-- list their sessions (never the secret's hash). No update grant: with one, a user could also clear
-- revoked_at and bring a signed-out session back, which a policy cannot tell from revoking.
grant select (id, user_id, user_agent, created_at, last_used_at, expires_at, revoked_at)
    on public.sessions to authenticated;

alter table public.sessions enable row level security;

create policy sessions_select_own on public.sessions
    for select to authenticated
    using (user_id = (select auth.uid()));


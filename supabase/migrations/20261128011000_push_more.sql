-- Web Push work: one row per message and subscription it should reach, written by the relay as it
-- publishes the message and sent by its sweep. The primary key makes each message reach each browser at
-- most once, across restarts. Only the server reads or writes it: RLS on, no policy, nothing granted to
-- anon or authenticated.
create table public.push_deliveries (
    message_id uuid not null references public.messages (id) on delete cascade,
    subscription_id uuid not null references public.push_subscriptions (id) on delete cascade,
    user_id uuid not null,
    created_at timestamptz not null,
    next_attempt_at timestamptz not null,
    attempts integer not null default 0,
    done_at timestamptz,
    outcome text constraint push_deliveries_outcome_check check (outcome in ('sent', 'gone', 'skipped', 'failed')),
    primary key (message_id, subscription_id)
);
create index push_deliveries_subscription_id_idx on public.push_deliveries (subscription_id);
create index push_deliveries_due_idx on public.push_deliveries (next_attempt_at) where done_at is null;

alter table public.push_deliveries enable row level security;
revoke all on table public.push_deliveries from public, anon, authenticated;
grant all on table public.push_deliveries to service_role;

-- An endpoint is one browser: whoever subscribes it now owns it. The previous owner's row (invisible to
-- the caller under RLS) is removed so the caller's insert can take the endpoint. Knowing an endpoint only
-- lets one stop pushes to it (they would be encrypted for keys that browser does not hold), and an
-- endpoint is a secret URL only its browser and the server see.
create or replace function public.release_push_endpoint(p_endpoint text) returns void
    language sql volatile security definer set search_path = ''
as $$
    delete from public.push_subscriptions
    where endpoint = p_endpoint and (select auth.uid()) is not null and user_id <> (select auth.uid())
$$;

revoke all on function public.release_push_endpoint(text) from public, anon;
grant execute on function public.release_push_endpoint(text) to authenticated;

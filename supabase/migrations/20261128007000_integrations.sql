-- Integrations: bots, outgoing webhooks (signed deliveries of a conversation's events) and incoming webhooks
-- (a secret URL that posts into one conversation). tests/test_integrations_rls.py proves the policies below.

-- ---------------------------------------------------------------------------------------------------
-- Bots: a user made by a person (bot_owner_id), who posts with its own bearer token. Only the server sets
-- the column: authenticated may update display_name, bio and avatar_url alone.
-- ---------------------------------------------------------------------------------------------------
alter table public.users add column bot_owner_id uuid references public.users (id) on delete cascade;
create index users_bot_owner_id_idx on public.users (bot_owner_id);

-- May the current user manage the conversation's webhooks? Owners and admins of a group; either member
-- of a direct conversation.
create or replace function public.manages_webhooks(conversation_id uuid) returns boolean
    language sql stable security definer set search_path = ''
as $$
    select exists (
        select 1 from public.memberships m
        join public.conversations c on c.id = m.conversation_id
        where m.conversation_id = $1 and m.user_id = (select auth.uid())
          and (c.kind = 'direct' or m.role in ('owner', 'admin'))
    )
$$;

revoke all on function public.manages_webhooks(uuid) from public, anon;
grant execute on function public.manages_webhooks(uuid) to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------------
-- Outgoing webhooks. The secret is written once, with the row, and read back by the server alone.
-- ---------------------------------------------------------------------------------------------------
create table public.webhooks (
    id               uuid primary key,
    conversation_id  uuid not null references public.conversations (id) on delete cascade,
    created_by       uuid not null references public.users (id) on delete cascade,
    url              text not null,
    secret           text not null,
    created_at       timestamptz not null,
    last_delivery_at timestamptz,
    last_status      integer,
    last_error       text,
    failing_since    timestamptz,
    leased_until     timestamptz
);
create index ix_webhooks_conversation_id on public.webhooks (conversation_id);
create index ix_webhooks_created_by on public.webhooks (created_by);

alter table public.webhooks enable row level security;
revoke all on table public.webhooks from public, anon, authenticated;
grant all on table public.webhooks to service_role;
grant select (id, conversation_id, created_by, url, created_at, last_delivery_at, last_status, last_error,
              failing_since)
    on public.webhooks to authenticated;
grant insert (id, conversation_id, created_by, url, secret, created_at) on public.webhooks to authenticated;
grant delete on public.webhooks to authenticated;

create policy webhooks_select_manager on public.webhooks
    for select to authenticated
    using (public.manages_webhooks(conversation_id));

create policy webhooks_insert_manager on public.webhooks
    for insert to authenticated
    with check (created_by = (select auth.uid()) and public.manages_webhooks(conversation_id));

create policy webhooks_delete_manager on public.webhooks
    for delete to authenticated
    using (public.manages_webhooks(conversation_id));

-- One row per event per webhook, written and sent by the server; the people who manage the webhook see them.
create table public.webhook_deliveries (
    id              uuid primary key,
    webhook_id      uuid not null references public.webhooks (id) on delete cascade,
    outbox_id       bigint not null,
    event_type      text not null,
    payload         jsonb not null,
    created_at      timestamptz not null,
    attempts        integer not null default 0,
    next_attempt_at timestamptz not null,
    delivered_at    timestamptz,
    abandoned_at    timestamptz,
    last_status     integer,
    last_error      text,
    constraint webhook_deliveries_webhook_id_outbox_id_key unique (webhook_id, outbox_id)
);

alter table public.webhook_deliveries enable row level security;
revoke all on table public.webhook_deliveries from public, anon, authenticated;
grant all on table public.webhook_deliveries to service_role;
grant select on public.webhook_deliveries to authenticated;

create policy webhook_deliveries_select_manager on public.webhook_deliveries
    for select to authenticated
    using (exists (select 1 from public.webhooks w
                   where w.id = webhook_deliveries.webhook_id and public.manages_webhooks(w.conversation_id)));

-- ---------------------------------------------------------------------------------------------------
-- Incoming webhooks: a member makes one for a conversation and alone sees or deletes it; only the hash of
-- its secret is stored, and nobody but the server reads even that.
-- ---------------------------------------------------------------------------------------------------
create table public.incoming_webhooks (
    id              uuid primary key,
    conversation_id uuid not null references public.conversations (id) on delete cascade,
    created_by      uuid not null references public.users (id) on delete cascade,
    secret_hash     text not null unique,
    created_at      timestamptz not null
);
create index ix_incoming_webhooks_conversation_id on public.incoming_webhooks (conversation_id);
create index ix_incoming_webhooks_created_by on public.incoming_webhooks (created_by);

alter table public.incoming_webhooks enable row level security;
revoke all on table public.incoming_webhooks from public, anon, authenticated;
grant all on table public.incoming_webhooks to service_role;
grant select (id, conversation_id, created_by, created_at) on public.incoming_webhooks to authenticated;
grant insert (id, conversation_id, created_by, secret_hash, created_at) on public.incoming_webhooks to authenticated;
grant delete on public.incoming_webhooks to authenticated;

create policy incoming_webhooks_select_own on public.incoming_webhooks
    for select to authenticated
    using (created_by = (select auth.uid()));

create policy incoming_webhooks_insert_member on public.incoming_webhooks
    for insert to authenticated
    with check (created_by = (select auth.uid()) and public.is_member(conversation_id));

create policy incoming_webhooks_delete_own on public.incoming_webhooks
    for delete to authenticated
    using (created_by = (select auth.uid()));

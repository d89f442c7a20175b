-- Keeping up: notification levels and archive per member, the mentions of each message, and Web Push
-- subscriptions per browser.

-- A member's notification level for the conversation: null follows the default (all; mentions in groups
-- over 20 members). An archived conversation remembers the seq it was archived at: it is shown as
-- archived until a message after that seq would notify its member (worked out when reading, so that a
-- send never writes other people's rows).
alter table public.memberships
    add column notify text constraint memberships_notify_check check (notify in ('all', 'mentions', 'none')),
    add column archived_seq bigint constraint memberships_archived_seq_check check (archived_seq >= 0);
grant update (notify, archived_seq) on public.memberships to authenticated;

-- Owners and admins may update other members' rows (roles); a member's own settings are theirs alone.
create or replace function public.memberships_settings_guard() returns trigger
    language plpgsql set search_path = ''
as $$
begin
    if (new.notify is distinct from old.notify or new.archived_seq is distinct from old.archived_seq)
            and old.user_id is distinct from (select auth.uid()) then
        raise exception 'a member changes only their own notification settings'
            using errcode = 'insufficient_privilege';
    end if;
    return new;
end
$$;

create trigger memberships_settings_guard
    before update of notify, archived_seq on public.memberships
    for each row
    when (current_user = 'authenticated')
    execute function public.memberships_settings_guard();

revoke all on function public.memberships_settings_guard() from public, anon, authenticated;

-- ---------------------------------------------------------------------------------------------------
-- Mentions: one row per message and person it mentions (members only), kept with the message's current
-- text. conversation_id and seq are copied from the message so unread mentions count from one index.
-- ---------------------------------------------------------------------------------------------------
create table public.message_mentions (
    message_id uuid not null references public.messages (id) on delete cascade,
    user_id uuid not null references public.users (id) on delete cascade,
    conversation_id uuid not null references public.conversations (id) on delete cascade,
    seq bigint not null,
    primary key (message_id, user_id)
);
create index message_mentions_user_id_idx on public.message_mentions (user_id, conversation_id, seq);
create index message_mentions_conversation_id_idx on public.message_mentions (conversation_id);

alter table public.message_mentions enable row level security;
revoke all on public.message_mentions from anon, authenticated;
grant select, insert, delete on public.message_mentions to authenticated;

create policy message_mentions_select_member on public.message_mentions
    for select to authenticated
    using (public.is_member(conversation_id));

-- The sender of a message records whom it mentions: members of its conversation, at its own seq.
create policy message_mentions_insert_sender on public.message_mentions
    for insert to authenticated
    with check (
        exists (select 1 from public.messages m
                where m.id = message_mentions.message_id and m.conversation_id = message_mentions.conversation_id
                  and m.seq = message_mentions.seq and m.sender_id = (select auth.uid()))
        and exists (select 1 from public.memberships mm
                    where mm.conversation_id = message_mentions.conversation_id
                      and mm.user_id = message_mentions.user_id)
    );

create policy message_mentions_delete_sender on public.message_mentions
    for delete to authenticated
    using (exists (select 1 from public.messages m
                   where m.id = message_mentions.message_id and m.sender_id = (select auth.uid())));

-- ---------------------------------------------------------------------------------------------------
-- Web Push subscriptions: one per browser endpoint, owned by one person.
-- ---------------------------------------------------------------------------------------------------
create table public.push_subscriptions (
    id uuid primary key,
    user_id uuid not null references public.users (id) on delete cascade,
    endpoint text not null constraint push_subscriptions_endpoint_key unique,
    p256dh text not null,
    auth text not null,
    created_at timestamptz not null,
    last_success_at timestamptz
);
create index push_subscriptions_user_id_idx on public.push_subscriptions (user_id);

alter table public.push_subscriptions enable row level security;
revoke all on public.push_subscriptions from anon, authenticated;
grant select, insert, delete on public.push_subscriptions to authenticated;
grant update (p256dh, auth) on public.push_subscriptions to authenticated;

create policy push_subscriptions_own on public.push_subscriptions
    for all to authenticated
    using (user_id = (select auth.uid()))
    with check (user_id = (select auth.uid()));

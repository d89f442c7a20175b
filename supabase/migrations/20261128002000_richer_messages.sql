-- A message's revision: +1 on every edit, reaction and delete, so that a rendering cached for an older
-- revision (its body_html, its page fragment) is known to be stale.
alter table public.messages add column revision integer not null default 1;
grant update (revision) on public.messages to authenticated;

-- A person moves a revision on by one with an edit or a delete (the other guards say who may); reactions
-- move it on through a security-definer trigger. It never goes back or jumps.
create or replace function public.messages_revision_guard() returns trigger
    language plpgsql set search_path = ''
as $$
begin
    if new.revision is distinct from old.revision and new.revision is distinct from old.revision + 1 then
        raise exception 'a revision moves on by one'
            using errcode = 'check_violation';
    end if;
    return new;
end
$$;

create trigger messages_revision_guard
    before update on public.messages
    for each row
    when (current_user = 'authenticated')
    execute function public.messages_revision_guard();

revoke all on function public.messages_revision_guard() from public, anon, authenticated;

-- ---------------------------------------------------------------------------------------------------
-- Reactions: one row per person, message and emoji. Members see them; a person adds and removes only
-- their own, on messages of conversations they are a member of. Each change moves the message's
-- revision on (a security-definer trigger: reacting is not editing, so no update grant is needed).
-- ---------------------------------------------------------------------------------------------------
create table public.message_reactions (
    message_id uuid not null references public.messages (id) on delete cascade,
    user_id uuid not null references public.users (id) on delete cascade,
    emoji text not null,
    created_at timestamptz not null,
    primary key (message_id, user_id, emoji)
);
create index message_reactions_message_id_idx on public.message_reactions (message_id, created_at);
create index message_reactions_user_id_idx on public.message_reactions (user_id);

alter table public.message_reactions enable row level security;
revoke all on public.message_reactions from anon, authenticated;
grant select, insert, delete on public.message_reactions to authenticated;

create policy message_reactions_select_member on public.message_reactions
    for select to authenticated
    using (exists (select 1 from public.messages m
                   where m.id = message_reactions.message_id and public.is_member(m.conversation_id)));

create policy message_reactions_insert_own on public.message_reactions
    for insert to authenticated
    with check (
        user_id = (select auth.uid())
        and exists (select 1 from public.messages m
                    where m.id = message_reactions.message_id and m.deleted_at is null
                      and public.is_member(m.conversation_id))
    );

create policy message_reactions_delete_own on public.message_reactions
    for delete to authenticated
    using (user_id = (select auth.uid()));

create or replace function public.message_reactions_revision() returns trigger
    language plpgsql security definer set search_path = ''
as $$
begin
    update public.messages set revision = revision + 1
        where id = coalesce(new.message_id, old.message_id);
    return null;
end
$$;

create trigger message_reactions_revision
    after insert or delete on public.message_reactions
    for each row execute function public.message_reactions_revision();

revoke all on function public.message_reactions_revision() from public, anon, authenticated;

-- ---------------------------------------------------------------------------------------------------
-- Replies: a message may quote an earlier message of the same conversation.
-- ---------------------------------------------------------------------------------------------------
alter table public.messages add column reply_to_id uuid references public.messages (id) on delete set null;
create index messages_reply_to_id_idx on public.messages (reply_to_id);

create or replace function public.messages_reply_guard() returns trigger
    language plpgsql security definer set search_path = ''
as $$
begin
    if new.reply_to_id is not null and not exists (
            select 1 from public.messages m
            where m.id = new.reply_to_id and m.conversation_id = new.conversation_id) then
        raise exception 'a reply quotes a message of the same conversation'
            using errcode = 'check_violation';
    end if;
    return new;
end
$$;

create trigger messages_reply_guard
    before insert or update of reply_to_id on public.messages
    for each row execute function public.messages_reply_guard();

revoke all on function public.messages_reply_guard() from public, anon, authenticated;

-- Row Level Security: the second wall behind the action layer (chat/actions).
--
-- The app runs a user's transaction as role `authenticated` with claims {"sub": <user id>}, exactly as
-- Supabase's Data API does; the server's own work (sign-up, tokens, the outbox relay) runs as the
-- connecting role (the table owner), which RLS does not restrict. So:
--   * anon may do nothing at all;
--   * authenticated gets exactly the privileges and rows the actions need, nothing more;
--   * service_role (bypassrls) gets everything.
-- tests/test_rls.py proves each policy directly in SQL.

-- ---------------------------------------------------------------------------------------------------
-- Grants. Start from nothing (Supabase's default privileges give anon and authenticated everything on
-- new tables in public), then grant table and column privileges one by one.
-- ---------------------------------------------------------------------------------------------------
revoke all on table public.users, public.accounts, public.api_tokens, public.conversations,
    public.memberships, public.messages, public.message_edits, public.attachments, public.outbox
    from public, anon, authenticated;
revoke all on sequence public.message_edits_id_seq, public.outbox_id_seq from public, anon, authenticated;

grant all on table public.users, public.accounts, public.api_tokens, public.conversations,
    public.memberships, public.messages, public.message_edits, public.attachments, public.outbox
    to service_role;
grant all on sequence public.message_edits_id_seq, public.outbox_id_seq to service_role;

-- The directory; a profile may change its own public fields.
grant select on public.users to authenticated;
grant update (display_name, bio, avatar_url) on public.users to authenticated;
-- accounts, api_tokens: nothing (the server signs people in and checks tokens).
grant select, insert on public.conversations to authenticated;
grant update (name, last_seq, updated_at) on public.conversations to authenticated;
grant select, insert, delete on public.memberships to authenticated;
grant update (role, last_read_seq) on public.memberships to authenticated;
grant select, insert on public.messages to authenticated;
grant update (body, metadata, edited_at, deleted_at) on public.messages to authenticated;
-- message_edits.id is an identity column: inserting needs no sequence privilege, and the id is
-- never chosen by the client; `insert ... returning id` needs select on it (granted with the table).
grant select, delete on public.message_edits to authenticated;
grant insert (message_id, body, edited_at) on public.message_edits to authenticated;
grant select, insert on public.attachments to authenticated;
grant update (message_id) on public.attachments to authenticated;
-- The outbox is written by the user's transaction and read only by the relay (as the server).
-- SQLAlchemy inserts with `returning outbox.id`, which needs select on id and a select policy that
-- admits the new row: see outbox_returning_new_row below. Nothing else about the outbox is readable.
grant insert (conversation_id, event_type, payload, created_at) on public.outbox to authenticated;
grant select (id) on public.outbox to authenticated;

-- ---------------------------------------------------------------------------------------------------
-- RLS on every table. Without a policy for a role and command, the answer is no.
-- ---------------------------------------------------------------------------------------------------
alter table public.users enable row level security;
alter table public.accounts enable row level security;
alter table public.api_tokens enable row level security;
alter table public.conversations enable row level security;
alter table public.memberships enable row level security;
alter table public.messages enable row level security;
alter table public.message_edits enable row level security;
alter table public.attachments enable row level security;
alter table public.outbox enable row level security;

-- chat/migrations.py records applied versions in public.schema_migrations (the Supabase CLI keeps its
-- own in supabase_migrations, so the table may not exist there).
do $$
begin
    if pg_catalog.to_regclass('public.schema_migrations') is not null then
        alter table public.schema_migrations enable row level security;
        revoke all on table public.schema_migrations from public, anon, authenticated;
        grant all on table public.schema_migrations to service_role;
    end if;
end
$$;

-- ---------------------------------------------------------------------------------------------------
-- Helpers for the policies. SECURITY DEFINER so that they read memberships without recursing into
-- memberships' own policies; STABLE, so within one statement they see the database as it was when the
-- statement began (not the rows that statement is writing); an empty search_path and qualified names
-- so that nobody can substitute objects of their own.
-- ---------------------------------------------------------------------------------------------------

-- Is the current user a member of the conversation?
create or replace function public.is_member(conversation_id uuid) returns boolean
    language sql stable security definer set search_path = ''
as $$
    select exists (
        select 1 from public.memberships m
        where m.conversation_id = $1 and m.user_id = (select auth.uid())
    )
$$;

-- The current user's role in the conversation ('owner', 'admin', 'member'), or null.
create or replace function public.conversation_role(conversation_id uuid) returns text
    language sql stable security definer set search_path = ''
as $$
    select m.role from public.memberships m
    where m.conversation_id = $1 and m.user_id = (select auth.uid())
$$;

-- Is this a conversation the current user has just created, still without anyone else in it?
-- It lets the creator see the new row and add its first members (all in one multi-row insert, which
-- does not see its own rows, or one row per statement with the creator's own row first). It stops
-- holding once anyone else has joined, so a creator who leaves cannot let themselves back in.
create or replace function public.created_conversation(conversation_id uuid) returns boolean
    language sql stable security definer set search_path = ''
as $$
    select exists (
        select 1 from public.conversations c
        where c.id = $1
          and c.created_by = (select auth.uid())
          and not exists (select 1 from public.memberships m
                          where m.conversation_id = c.id and m.user_id <> c.created_by)
    )
$$;

-- Has the conversation members other than the current user? (With created_by, this tells a
-- conversation just being created, as in `insert ... returning`, from one its creator has left.)
create or replace function public.has_other_members(conversation_id uuid) returns boolean
    language sql stable security definer set search_path = ''
as $$
    select exists (
        select 1 from public.memberships m
        where m.conversation_id = $1 and m.user_id <> (select auth.uid())
    )
$$;

-- Is the attachment on a message in one of the current user's conversations?
-- Read as of the start of the statement: when an owner/admin deletes someone else's message, its
-- attachments are detached (message_id set to null) and the new row must still pass the select policy.
create or replace function public.can_see_attachment(attachment_id uuid) returns boolean
    language sql stable security definer set search_path = ''
as $$
    select exists (
        select 1
        from public.attachments a
        join public.messages msg on msg.id = a.message_id
        join public.memberships m on m.conversation_id = msg.conversation_id
                                 and m.user_id = (select auth.uid())
        where a.id = $1
    )
$$;

-- Is this outbox row one that did not exist when the statement began, i.e. the row being inserted?
-- A query only ever scans rows that existed when it began, so no select can return an outbox row;
-- only `insert ... returning id` can see (the id of) what it is writing.
create or replace function public.outbox_row_is_new(id bigint) returns boolean
    language sql stable security definer set search_path = ''
as $$
    select not exists (select 1 from public.outbox o where o.id = $1)
$$;

revoke all on function public.is_member(uuid), public.conversation_role(uuid),
    public.created_conversation(uuid), public.has_other_members(uuid), public.can_see_attachment(uuid),
    public.outbox_row_is_new(bigint)
    from public, anon;
grant execute on function public.is_member(uuid), public.conversation_role(uuid),
    public.created_conversation(uuid), public.has_other_members(uuid), public.can_see_attachment(uuid),
    public.outbox_row_is_new(bigint)
    to authenticated, service_role;

-- ---------------------------------------------------------------------------------------------------
-- users: everyone signed in reads the directory; you update your own profile. Sign-up is the server's.
-- ---------------------------------------------------------------------------------------------------
create policy users_select_directory on public.users
    for select to authenticated
    using (true);

create policy users_update_own on public.users
    for update to authenticated
    using (id = (select auth.uid()))
    with check (id = (select auth.uid()));

-- accounts, api_tokens: RLS on, no policy: invisible to anon and authenticated.

-- ---------------------------------------------------------------------------------------------------
-- conversations
-- ---------------------------------------------------------------------------------------------------
-- Members; and the creator of a conversation nobody else has joined yet, so that the creator sees
-- the new row at once (also in `insert ... returning`), before any membership exists.
create policy conversations_select_member on public.conversations
    for select to authenticated
    using (
        public.is_member(id)
        or (created_by = (select auth.uid()) and not public.has_other_members(id))
    );

-- You create conversations as yourself, empty; a direct conversation's key must name you.
create policy conversations_insert_own on public.conversations
    for insert to authenticated
    with check (
        created_by = (select auth.uid())
        and last_seq = 0
        and (
            (kind = 'group' and direct_key is null)
            or (kind = 'direct'
                and (select auth.uid())::text in (split_part(direct_key, ':', 1), split_part(direct_key, ':', 2)))
        )
    );

-- Members bump last_seq/updated_at when they send; renaming is checked by conversations_guard below.
create policy conversations_update_member on public.conversations
    for update to authenticated
    using (public.is_member(id))
    with check (public.is_member(id));

-- ---------------------------------------------------------------------------------------------------
-- memberships
-- ---------------------------------------------------------------------------------------------------
create policy memberships_select_member on public.memberships
    for select to authenticated
    using (user_id = (select auth.uid()) or public.is_member(conversation_id));

-- The creator adds the first members; later owners add anyone, admins anyone but an owner.
create policy memberships_insert_manager on public.memberships
    for insert to authenticated
    with check (
        public.created_conversation(conversation_id)
        or public.conversation_role(conversation_id) = 'owner'
        or (public.conversation_role(conversation_id) = 'admin' and role <> 'owner')
    );

-- Your own row: the read mark (your role stays as it is). Owners: any row (handing ownership on when
-- they leave). Admins: members' rows, never making anyone an owner.
create policy memberships_update_own_or_manager on public.memberships
    for update to authenticated
    using (
        user_id = (select auth.uid())
        or public.conversation_role(conversation_id) = 'owner'
        or (public.conversation_role(conversation_id) = 'admin' and role = 'member')
    )
    with check (
        (user_id = (select auth.uid()) and role = public.conversation_role(conversation_id))
        or public.conversation_role(conversation_id) = 'owner'
        or (public.conversation_role(conversation_id) = 'admin' and role <> 'owner')
    );

-- Leave (your own row); owners remove anyone, admins remove members.
create policy memberships_delete_own_or_manager on public.memberships
    for delete to authenticated
    using (
        user_id = (select auth.uid())
        or public.conversation_role(conversation_id) = 'owner'
        or (public.conversation_role(conversation_id) = 'admin' and role = 'member')
    );

-- ---------------------------------------------------------------------------------------------------
-- messages
-- ---------------------------------------------------------------------------------------------------
create policy messages_select_member on public.messages
    for select to authenticated
    using (public.is_member(conversation_id));

-- As yourself, into your conversation, at the seq just taken from the conversation row, not deleted;
-- "system" messages are the server's.
create policy messages_insert_own on public.messages
    for insert to authenticated
    with check (
        sender_id = (select auth.uid())
        and kind <> 'system'
        and deleted_at is null
        and public.is_member(conversation_id)
        and seq = (select c.last_seq from public.conversations c where c.id = messages.conversation_id)
    );

-- Edit your own; delete your own or, as a group's owner/admin, anyone's (messages_guard tells which).
create policy messages_update_sender_or_manager on public.messages
    for update to authenticated
    using (
        public.is_member(conversation_id)
        and (sender_id = (select auth.uid()) or public.conversation_role(conversation_id) in ('owner', 'admin'))
    )
    with check (
        public.is_member(conversation_id)
        and (sender_id = (select auth.uid()) or public.conversation_role(conversation_id) in ('owner', 'admin'))
    );

-- ---------------------------------------------------------------------------------------------------
-- message_edits: earlier versions, visible to the conversation's members; written when the sender
-- edits; dropped when the message is deleted (by its sender or a group's owner/admin).
-- ---------------------------------------------------------------------------------------------------
create policy message_edits_select_member on public.message_edits
    for select to authenticated
    using (exists (
        select 1 from public.messages m
        where m.id = message_edits.message_id and public.is_member(m.conversation_id)
    ));

create policy message_edits_insert_sender on public.message_edits
    for insert to authenticated
    with check (exists (
        select 1 from public.messages m
        where m.id = message_edits.message_id
          and m.sender_id = (select auth.uid())
          and public.is_member(m.conversation_id)
    ));

create policy message_edits_delete_sender_or_manager on public.message_edits
    for delete to authenticated
    using (exists (
        select 1 from public.messages m
        where m.id = message_edits.message_id
          and public.is_member(m.conversation_id)
          and (m.sender_id = (select auth.uid())
               or public.conversation_role(m.conversation_id) in ('owner', 'admin'))
    ));

-- ---------------------------------------------------------------------------------------------------
-- attachments: uploaded unattached by yourself; visible to you and, once attached, to the members of
-- the message's conversation; attached by the uploader to their own message, detached when it is deleted.
-- ---------------------------------------------------------------------------------------------------
create policy attachments_select_uploader_or_member on public.attachments
    for select to authenticated
    using (uploader_id = (select auth.uid()) or public.can_see_attachment(id));

create policy attachments_insert_own on public.attachments
    for insert to authenticated
    with check (uploader_id = (select auth.uid()) and message_id is null);

create policy attachments_update_uploader_or_member on public.attachments
    for update to authenticated
    using (uploader_id = (select auth.uid()) or public.can_see_attachment(id))
    with check (
        message_id is null
        or (uploader_id = (select auth.uid())
            and exists (select 1 from public.messages m
                        where m.id = attachments.message_id
                          and m.sender_id = (select auth.uid())
                          and public.is_member(m.conversation_id)))
    );

-- ---------------------------------------------------------------------------------------------------
-- outbox: insert anything (the event of the user's own change); read nothing. The select policy only
-- admits the row an insert is writing, for `insert ... returning id` (see outbox_row_is_new).
-- ---------------------------------------------------------------------------------------------------
create policy outbox_insert_any on public.outbox
    for insert to authenticated
    with check (true);

create policy outbox_returning_new_row on public.outbox
    for select to authenticated
    using (public.outbox_row_is_new(id));

-- ---------------------------------------------------------------------------------------------------
-- Guards that policies cannot express (they compare the old and new row). They apply to the
-- authenticated role only; the server and service_role are trusted.
-- ---------------------------------------------------------------------------------------------------

-- Only a group's owner or admin renames it; last_seq only ever moves up by one (a send).
create or replace function public.conversations_guard() returns trigger
    language plpgsql set search_path = ''
as $$
begin
    if current_user = 'authenticated' then
        if new.name is distinct from old.name
           and (old.kind <> 'group'
                or coalesce(public.conversation_role(old.id), '') not in ('owner', 'admin')) then
            raise exception 'only a group''s owner or an admin can rename it'
                using errcode = 'insufficient_privilege';
        end if;
        if new.last_seq <> old.last_seq and new.last_seq <> old.last_seq + 1 then
            raise exception 'last_seq moves up by one per message'
                using errcode = 'check_violation';
        end if;
    end if;
    return new;
end
$$;

create trigger conversations_guard
    before update on public.conversations
    for each row execute function public.conversations_guard();

-- Only the sender edits a message; a deletion empties the body; a deleted message stays deleted.
create or replace function public.messages_guard() returns trigger
    language plpgsql set search_path = ''
as $$
begin
    if current_user = 'authenticated' then
        if old.deleted_at is not null then
            raise exception 'a deleted message cannot change'
                using errcode = 'insufficient_privilege';
        end if;
        if new.deleted_at is null then
            if old.sender_id is distinct from (select auth.uid()) then
                raise exception 'only the sender can edit a message'
                    using errcode = 'insufficient_privilege';
            end if;
        elsif new.body <> '' then
            raise exception 'a deleted message keeps no body'
                using errcode = 'check_violation';
        end if;
    end if;
    return new;
end
$$;

create trigger messages_guard
    before update on public.messages
    for each row execute function public.messages_guard();

revoke all on function public.conversations_guard(), public.messages_guard() from public, anon, authenticated;

-- RLS as a real wall: what the action layer refuses, the database refuses too, for any client that holds
-- the `authenticated` role (the app's own user transactions, and Supabase Data API clients alike).
--
--   * outbox: written only by the server. Its rows become live events delivered as written, so a client
--     that could insert one could make anything appear in anyone's conversation. chat/db.py writes the
--     outbox as the login role just before a user's transaction commits.
--   * attachments: only the uploader attaches or detaches an upload; a group's owner or admin may also
--     detach them when deleting a message (a plain member cannot detach someone else's).
--   * conversations: last_seq moves only together with a message at that seq; updated_at is never in
--     the future.
--   * messages: a body changes only as an edit, with edited_at set and the earlier version in
--     message_edits; message_edits holds only versions the message really had, and loses them only when
--     the message is deleted; metadata changes only when the message is deleted.
--   * direct conversations: only the two people named in direct_key, as members.
-- tests/test_rls_wall.py proves each rule in SQL.

-- ---------------------------------------------------------------------------------------------------
-- outbox: nothing for anon or authenticated. (Revoking the table privileges revokes the column ones.)
-- ---------------------------------------------------------------------------------------------------
drop policy if exists outbox_insert_any on public.outbox;
drop policy if exists outbox_returning_new_row on public.outbox;
drop function if exists public.outbox_row_is_new(bigint);
revoke all on table public.outbox from public, anon, authenticated;
revoke all on sequence public.outbox_id_seq from public, anon, authenticated;

-- ---------------------------------------------------------------------------------------------------
-- attachments
-- ---------------------------------------------------------------------------------------------------

-- Is the message in a group where the current user is an owner or admin (who may delete it)?
create or replace function public.moderates_message(message_id uuid) returns boolean
    language sql stable security definer set search_path = ''
as $$
    select exists (
        select 1
        from public.messages msg
        join public.conversations c on c.id = msg.conversation_id and c.kind = 'group'
        join public.memberships m on m.conversation_id = msg.conversation_id
                                 and m.user_id = (select auth.uid())
                                 and m.role in ('owner', 'admin')
        where msg.id = $1
    )
$$;

revoke all on function public.moderates_message(uuid) from public, anon;
grant execute on function public.moderates_message(uuid) to authenticated, service_role;

drop policy if exists attachments_update_uploader_or_member on public.attachments;

-- The uploader attaches their own upload to their own message, or detaches it.
create policy attachments_update_uploader on public.attachments
    for update to authenticated
    using (uploader_id = (select auth.uid()))
    with check (
        uploader_id = (select auth.uid())
        and (message_id is null
             or exists (select 1 from public.messages m
                        where m.id = attachments.message_id
                          and m.sender_id = (select auth.uid())
                          and public.is_member(m.conversation_id)))
    );

-- A group's owner or admin detaches the attachments of a message they delete; never attaches them.
create policy attachments_detach_moderator on public.attachments
    for update to authenticated
    using (public.moderates_message(message_id))
    with check (message_id is null);

-- ---------------------------------------------------------------------------------------------------
-- conversations
-- ---------------------------------------------------------------------------------------------------

-- updated_at orders everyone's conversation list: a client may bump it to now, never past it.
create or replace function public.conversations_clamp_updated_at() returns trigger
    language plpgsql set search_path = ''
as $$
begin
    if current_user = 'authenticated' and new.updated_at > pg_catalog.clock_timestamp() then
        new.updated_at := pg_catalog.clock_timestamp();
    end if;
    return new;
end
$$;

create trigger conversations_clamp_updated_at
    before insert or update on public.conversations
    for each row execute function public.conversations_clamp_updated_at();

-- Every seq handed out is taken by a message: checked at commit, when the send's message is in.
-- SECURITY DEFINER so that it reads every message whatever role the commit runs under.
create or replace function public.conversations_seq_has_message() returns trigger
    language plpgsql security definer set search_path = ''
as $$
begin
    if not exists (select 1 from public.messages m
                   where m.conversation_id = new.id and m.seq = new.last_seq) then
        raise exception 'last_seq % of conversation % has no message', new.last_seq, new.id
            using errcode = 'check_violation';
    end if;
    return null;
end
$$;

-- The WHEN condition is evaluated when the row changes (not at commit), so it sees the user's role.
create constraint trigger conversations_seq_has_message
    after update of last_seq on public.conversations
    deferrable initially deferred
    for each row
    when (new.last_seq is distinct from old.last_seq and current_user = 'authenticated')
    execute function public.conversations_seq_has_message();

-- ---------------------------------------------------------------------------------------------------
-- messages and message_edits
-- ---------------------------------------------------------------------------------------------------

-- A live message changes only by an edit of its body, which sets a new edited_at and has the earlier
-- version in message_edits with that edited_at (the action inserts it just before). A deletion
-- (messages_guard checks who and that the body goes) may change body and metadata freely.
create or replace function public.messages_history_guard() returns trigger
    language plpgsql security definer set search_path = ''
as $$
begin
    if new.deleted_at is not null then
        return new;
    end if;
    if new.metadata is distinct from old.metadata then
        raise exception 'metadata changes only when a message is deleted'
            using errcode = 'check_violation';
    end if;
    if new.body is distinct from old.body then
        if new.edited_at is null or new.edited_at is not distinct from old.edited_at then
            raise exception 'an edit sets a new edited_at'
                using errcode = 'check_violation';
        end if;
        if not exists (select 1 from public.message_edits e
                       where e.message_id = old.id and e.body = old.body and e.edited_at = new.edited_at) then
            raise exception 'an edit keeps the earlier version in message_edits'
                using errcode = 'check_violation';
        end if;
    elsif new.edited_at is distinct from old.edited_at then
        raise exception 'edited_at changes only with the body'
            using errcode = 'check_violation';
    end if;
    return new;
end
$$;

-- Named to run after messages_guard (triggers of one event fire in name order), which says who may.
create trigger messages_history_guard
    before update on public.messages
    for each row
    when (current_user = 'authenticated')
    execute function public.messages_history_guard();

-- An earlier version is the message's body as it is now, about to be replaced.
create or replace function public.message_edits_insert_guard() returns trigger
    language plpgsql security definer set search_path = ''
as $$
begin
    if not exists (select 1 from public.messages m
                   where m.id = new.message_id and m.body = new.body and m.deleted_at is null) then
        raise exception 'an earlier version must be the message''s current body'
            using errcode = 'insufficient_privilege';
    end if;
    return new;
end
$$;

create trigger message_edits_insert_guard
    before insert on public.message_edits
    for each row
    when (current_user = 'authenticated')
    execute function public.message_edits_insert_guard();

-- Earlier versions go only with the message: by commit, a message whose history was dropped is deleted.
create or replace function public.message_edits_delete_with_message() returns trigger
    language plpgsql security definer set search_path = ''
as $$
begin
    if exists (select 1 from public.messages m where m.id = old.message_id and m.deleted_at is null) then
        raise exception 'earlier versions are dropped only when the message is deleted'
            using errcode = 'check_violation';
    end if;
    return null;
end
$$;

create constraint trigger message_edits_delete_with_message
    after delete on public.message_edits
    deferrable initially deferred
    for each row
    when (current_user = 'authenticated')
    execute function public.message_edits_delete_with_message();

-- ---------------------------------------------------------------------------------------------------
-- memberships of direct conversations: the two people of direct_key, as members (as the app makes
-- them), so never a third person and never an owner. For every role: it is what "direct" means.
-- ---------------------------------------------------------------------------------------------------
create or replace function public.memberships_direct_guard() returns trigger
    language plpgsql security definer set search_path = ''
as $$
declare
    kind text;
    key text;
begin
    select c.kind, c.direct_key into kind, key
    from public.conversations c
    where c.id = new.conversation_id;
    if kind = 'direct'
       and (new.role <> 'member'
            or key is null
            or new.user_id::text not in (pg_catalog.split_part(key, ':', 1), pg_catalog.split_part(key, ':', 2))) then
        raise exception 'a direct conversation has only its two people, as members'
            using errcode = 'insufficient_privilege';
    end if;
    return new;
end
$$;

create trigger memberships_direct_guard
    before insert or update of conversation_id, user_id, role on public.memberships
    for each row execute function public.memberships_direct_guard();

revoke all on function public.conversations_clamp_updated_at(), public.conversations_seq_has_message(),
    public.messages_history_guard(), public.message_edits_insert_guard(),
    public.message_edits_delete_with_message(), public.memberships_direct_guard()
    from public, anon, authenticated;

-- A plain message in one statement: the server's send of a message without attachments, reply or mentions
-- (most messages) as one call instead of a transaction of eight round trips (BEGIN, the claims, membership
-- with the client_id check, the seq, the insert with the read mark, back to the login role, the outbox,
-- COMMIT). `chat/actions/messages.py` calls it on Postgres with the sender that authentication found; every
-- other send, and every send on SQLite, takes the transaction under RLS as before.
--
-- It checks what `messages_insert_own` checks: the sender is a member at the seq it takes (checked again
-- once the conversation row is locked, so a removal that committed meanwhile is seen), a client's kind, a
-- live message at the seq just taken. It writes what that transaction writes: the seq, the message, the
-- sender's read mark and the `message.created` outbox row (`p_event`, the message as the client gets it,
-- completed with its seq). Only the server calls it: neither `anon` nor `authenticated` may execute it.
--
-- Answers one row: ('created', id, seq); ('existing', id of the message this client_id already sent
-- here, null); or ('not_member', null, null), having written nothing.
create function public.append_message(
    p_sender uuid, p_conversation uuid, p_id uuid, p_kind text, p_body text, p_metadata jsonb,
    p_client_id text, p_created_at timestamptz, p_event jsonb)
    returns table (outcome text, message_id uuid, message_seq bigint)
    language plpgsql volatile security definer set search_path = ''
as $$
declare
    v_existing uuid;
    v_seq bigint;
begin
    if p_kind is null or p_kind not in ('text', 'image', 'file', 'audio') then
        raise exception 'a client sends text, image, file or audio messages' using errcode = 'check_violation';
    end if;
    perform 1 from public.memberships m where m.conversation_id = p_conversation and m.user_id = p_sender;
    if not found then
        return query select 'not_member'::text, null::uuid, null::bigint;
        return;
    end if;
    if p_client_id is not null then
        select msg.id into v_existing from public.messages msg
        where msg.sender_id = p_sender and msg.conversation_id = p_conversation and msg.client_id = p_client_id;
        if v_existing is not null then
            return query select 'existing'::text, v_existing, null::bigint;
            return;
        end if;
    end if;
    -- Taking the seq locks the conversation row until commit: seqs are gap-free, in commit order.
    update public.conversations c set last_seq = c.last_seq + 1, updated_at = p_created_at
    where c.id = p_conversation
    returning c.last_seq into v_seq;
    perform 1 from public.memberships m where m.conversation_id = p_conversation and m.user_id = p_sender;
    if v_seq is null or not found then
        -- Removed (or the conversation deleted) between the check and the lock: nothing is written.
        raise exception 'the sender is not a member of this conversation' using errcode = 'no_data_found';
    end if;
    insert into public.messages (id, conversation_id, seq, sender_id, kind, body, metadata, client_id, created_at)
    values (p_id, p_conversation, v_seq, p_sender, p_kind, p_body, p_metadata, p_client_id, p_created_at);
    update public.memberships m set last_read_seq = v_seq
    where m.conversation_id = p_conversation and m.user_id = p_sender;
    insert into public.outbox (conversation_id, event_type, payload, created_at)
    values (p_conversation, 'message.created', p_event || jsonb_build_object('seq', v_seq), p_created_at);
    return query select 'created'::text, p_id, v_seq;
end
$$;

revoke all on function public.append_message(uuid, uuid, uuid, text, text, jsonb, text, timestamptz, jsonb)
    from public, anon, authenticated;
grant execute on function public.append_message(uuid, uuid, uuid, text, text, jsonb, text, timestamptz, jsonb)
    to service_role;

-- A client_id is an idempotency key of one sender within one conversation. Unique per sender alone, a
-- client_id reused in another conversation (say after leaving a group, whose messages RLS then hides) matched
-- a message the sender could not see or that belonged elsewhere, and the new message was dropped.
alter table public.messages drop constraint messages_sender_id_client_id_key;
alter table public.messages
    add constraint messages_sender_id_conversation_id_client_id_key unique (sender_id, conversation_id, client_id);

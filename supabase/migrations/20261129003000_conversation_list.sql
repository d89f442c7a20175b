-- The conversation list, sorted before it is checked row by row: the caller's own conversations with what
-- the list sorts and filters them by (`id`, `kind`, `updated_at`), read without each row's policy check.
-- `chat/read/conversations.py` sorts these and keeps a page of them, then reads the kept rows (the
-- conversation, the last message, the counts) under RLS as ever. A person in 1,000 conversations otherwise
-- paid `is_member()` on every conversation and every last message before 50 were kept.
-- It answers only for `auth.uid()` and only with conversations that user is a member of, which
-- `conversations_select_member` lets them read anyway.
create function public.own_conversations() returns table (id uuid, kind text, updated_at timestamptz)
    language sql stable security definer set search_path = ''
as $$
    select c.id, c.kind, c.updated_at
    from public.memberships m
    join public.conversations c on c.id = m.conversation_id
    where m.user_id = (select auth.uid())
$$;

revoke all on function public.own_conversations() from public, anon;
grant execute on function public.own_conversations() to authenticated, service_role;

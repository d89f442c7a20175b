-- Reading messages, conversations and mentions: the membership check written into the policy, not called.
-- `public.is_member()` is a security definer function with its own search_path, so Postgres calls it once
-- for every row a query reads and cannot plan through it: about 8.6 µs a row here, ~1.2 ms of the 4 ms a
-- conversation list of 50 took, and 0.4 ms of a history page of 50. Written as an `exists` over
-- `memberships`, the same check is planned with the query (an index probe, or one hash of the reader's
-- memberships for the whole statement).
--
-- The check is the same: a membership of the conversation for `auth.uid()`. `memberships` is read under its
-- own policy, which lets everyone read their own memberships (`user_id = auth.uid()`, the first thing that
-- policy checks), so no row this finds is hidden from the reader and no call of `is_member()` is left on the
-- way. `memberships_select_member` itself keeps `is_member()`: a policy of `memberships` cannot read
-- `memberships` under its own policy.
alter policy messages_select_member on public.messages
    using (exists (select 1 from public.memberships m
                   where m.conversation_id = messages.conversation_id and m.user_id = (select auth.uid())));

alter policy conversations_select_member on public.conversations
    using (
        exists (select 1 from public.memberships m
                where m.conversation_id = conversations.id and m.user_id = (select auth.uid()))
        or (created_by = (select auth.uid()) and not public.has_other_members(id))
    );

alter policy message_mentions_select_member on public.message_mentions
    using (exists (select 1 from public.memberships m
                   where m.conversation_id = message_mentions.conversation_id and m.user_id = (select auth.uid())));

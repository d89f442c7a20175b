-- Keeping up, continued: a message deleted by a group's owner or admin mentions nobody any more, so whoever
-- deleted it (a member who may delete it) also drops its mentions. The sender's own policy stays as it is.
create policy message_mentions_delete_deleted on public.message_mentions
    for delete to authenticated
    using (exists (select 1 from public.messages m
                   where m.id = message_mentions.message_id and m.deleted_at is not null
                     and public.is_member(m.conversation_id)));

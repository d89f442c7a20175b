-- A picture's small WebP preview, kept in the same store as the picture; null for other files. The table's
-- row-level security (see 20261121000200_chat_rls.sql) covers the new column as it covers the others.
alter table public.attachments add column thumbnail_key text;

-- Uploaded avatars: the store key of a person's square avatar (null: initials, or the https avatar_url).
-- Only the server writes it (no update grant for authenticated): a key names bytes in the store, and a
-- person who could point their avatar at any key could show everyone an attachment of a conversation
-- they are not in. Reading it is harmless (the directory is readable by every signed-in person, and a
-- key is served only as that person's avatar). The table's row-level security covers the new column.
alter table public.users add column avatar_key text;

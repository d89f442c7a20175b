-- Full-text search over messages: a generated tsvector of the current body with a GIN index.
--
-- Words match regardless of case and accents: the `simple` configuration (lower-cases, no stemming, no
-- stop words: every word of every language is findable) over `unaccent`. `unaccent()` itself is only
-- STABLE (its dictionary could change), so a generated column needs an IMMUTABLE wrapper that names the
-- dictionary explicitly; the same wrapper builds the query, so both sides normalise alike.
-- The column is generated from `body`, so an edit re-indexes the message and a deletion (which empties
-- the body) leaves nothing to find, in the same statement. Reading it goes through the messages
-- policies unchanged: a user searches only what RLS already lets them see.

create schema if not exists extensions;
create extension if not exists unaccent with schema extensions;
grant usage on schema extensions to authenticated;

create or replace function public.search_unaccent(value text) returns text
    language sql immutable strict parallel safe set search_path = ''
as $$
    select extensions.unaccent('extensions.unaccent'::regdictionary, value)
$$;

revoke all on function public.search_unaccent(text) from public, anon;
grant execute on function public.search_unaccent(text) to authenticated;

alter table public.messages
    add column search_vector tsvector
        generated always as (to_tsvector('simple'::regconfig, public.search_unaccent(body))) stored;

create index messages_search_vector_idx on public.messages using gin (search_vector);
-- Results come newest first across conversations; filtered by date range and sender.
create index messages_created_at_idx on public.messages (created_at desc, id desc);

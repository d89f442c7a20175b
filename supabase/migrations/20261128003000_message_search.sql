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

-- Under RLS every row a scan touches is checked with is_member() before any non-leakproof condition such
-- as `@@` may run, so the GIN index cannot narrow a user's search (the benchmark measured seconds). This
-- helper finds the candidate ids with the index, limited to the caller's own memberships (auth.uid(), so
-- it can reveal nothing RLS would hide); the app then reads those rows under RLS as usual.
create or replace function public.search_message_ids(
    query text, max_rows integer, in_conversation uuid default null, from_user uuid default null,
    with_attachment boolean default false, not_before timestamptz default null, before timestamptz default null,
    cursor_at timestamptz default null, cursor_id uuid default null
) returns setof uuid
    language sql stable security definer set search_path = ''
as $$
    select m.id
    from public.messages m
    join public.memberships ms on ms.conversation_id = m.conversation_id and ms.user_id = (select auth.uid())
    where m.search_vector @@ pg_catalog.plainto_tsquery('simple'::regconfig, public.search_unaccent(query))
      and m.deleted_at is null
      and (in_conversation is null or m.conversation_id = in_conversation)
      and (from_user is null or m.sender_id = from_user)
      and (not with_attachment or exists (select 1 from public.attachments a where a.message_id = m.id))
      and (not_before is null or m.created_at >= not_before)
      and (before is null or m.created_at < before)
      and (cursor_at is null or (m.created_at, m.id) < (cursor_at, cursor_id))
    order by m.created_at desc, m.id desc
    limit least(max_rows, 51)
$$;

revoke all on function public.search_message_ids(text, integer, uuid, uuid, boolean, timestamptz, timestamptz,
                                                 timestamptz, uuid) from public, anon;
grant execute on function public.search_message_ids(text, integer, uuid, uuid, boolean, timestamptz, timestamptz,
                                                    timestamptz, uuid) to authenticated;

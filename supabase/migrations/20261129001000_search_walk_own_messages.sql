-- Search walks only the caller's messages: others' rows are skipped in the index, never read.
--
-- The walk of 20261128009000_search_speed went newest first over everyone's messages and read each row
-- from the table to check its words. When the newest messages of the whole table are someone else's (a busy
-- conversation the searcher is not in), it found nothing in its first 200 rows and handed a common word
-- over to the GIN index, which fetched and sorted every match of the word (100,000 at a million messages:
-- about half a second). Now the created_at index also carries conversation_id, and the walk reads it
-- index-only, keeping the caller's conversations (a hashed list) and skipping everyone else's entries
-- without touching the table; only the caller's rows are then read (by id) for their words and filters.
-- The walk's counts (rows walked, words matched) are then the caller's own, so the hand-over to the GIN
-- index is judged on the caller's messages alone: a common word is found in ~21/f of them however many
-- others' messages are newer.
--
-- The hand-over now weighs a row walked as 16 matches fetched by the GIN index, as measured at 1,000,000
-- messages (EXPLAIN ANALYZE, warm cache): the walk costs ~8.5 µs a row (an index probe by id and a table
-- read, at random, plus the others' index entries passed over), the GIN step ~0.5 µs a match (a bitmap
-- read in table order, then a top-N sort: 10,000 matches in 5 ms, 100,000 in 53 ms). Weighed one for one,
-- as before, a word in 1 message of 100 walked ~2,100 rows (18 ms) where the index took 5 ms; weighed so,
-- words rarer than ~1 in 80 of the caller's messages go to the index at 2,000,000 messages, and the worst
-- of either way is about even (~1,600 rows walked, or ~26,000 matches fetched).
--
-- The new index has the keys of messages_created_at_idx (created_at desc, id desc), which it replaces, and
-- conversation_id as an included column.
-- An index-only scan needs the visibility map; vacuum (autovacuum on inserts) keeps it, and a page that is
-- not all-visible costs a table read, as before.
--
-- RLS stays the wall: the helper answers only with ids of the caller's conversations (auth.uid()), and the
-- app reads those rows under the messages policies as before.

drop index public.messages_created_at_idx;
create index messages_created_at_conversation_idx on public.messages (created_at desc, id desc)
    include (conversation_id);

create or replace function public.search_message_ids(
    query text, max_rows integer, in_conversation uuid default null, from_user uuid default null,
    with_attachment boolean default false, not_before timestamptz default null, before timestamptz default null,
    cursor_at timestamptz default null, cursor_id uuid default null
) returns setof uuid
    language plpgsql stable security definer set search_path = '' set jit = off rows 21
as $$
declare
    probe constant integer := 200;  -- caller's rows walked before first judging how far the page is (then 400…)
    budget constant integer := 12800;  -- caller's rows walked at most before the GIN index takes over
    few constant integer := 50;  -- up to this many conversations, the GIN step lists them
    row_cost constant real := 16;  -- a row walked costs about as much as this many matches fetched by GIN
    words tsquery := pg_catalog.plainto_tsquery('simple'::regconfig, public.search_unaccent(query));
    wanted integer := least(greatest(max_rows, 1), 51);
    me uuid := auth.uid();
    mine uuid[];
    member text := ' exists (select 1 from public.memberships ms'
                   ' where ms.conversation_id = m.conversation_id and ms.user_id = $9)';
    filters text := ' and m.deleted_at is null';
    bounds text := '';
    attached text := '';
    walked integer := 0;
    hits integer := 0;  -- rows walked that match the words and the filters
    matches integer := 0;  -- rows walked that match the words
    step integer;
    got integer;
    messages real;
    last_at timestamptz := cursor_at;
    last_id uuid := cursor_id;
    r_id uuid;
    r_created_at timestamptz;
    r_found integer;  -- 0: not the words; 1: the words, not the filters; 2: both
begin
    if pg_catalog.numnode(words) = 0 or me is null then
        return;
    end if;
    if from_user is not null then
        filters := filters || ' and m.sender_id = $3';
    end if;
    if not_before is not null then
        bounds := bounds || ' and m.created_at >= $4';
    end if;
    if before is not null then
        bounds := bounds || ' and m.created_at < $5';
    end if;
    if with_attachment then
        attached := ' and exists (select 1 from public.attachments a where a.message_id = m.id)';
    end if;
    select pg_catalog.array_agg(ms.conversation_id) into mine
    from public.memberships ms
    where ms.user_id = me and (in_conversation is null or ms.conversation_id = in_conversation);
    if mine is null then
        return;
    end if;

    -- Newest first over the caller's messages only: the created_at index read index-only, its entries kept
    -- when their conversation is one of the caller's (a hashed list), so others' messages cost an index
    -- entry each and no table read; each kept row is then read by id for its words and the filters. One
    -- conversation has its own index (conversation_id, seq) beside the words', so a search inside one goes
    -- straight to the next step.
    if in_conversation is null then
        -- In steps of 200, 200, 400, 800… rows (each planned for its own size, so that the planner weighs the
        -- walk as it runs rather than as if it read the whole budget), judged after each step.
        loop
            step := least(greatest(walked, probe), budget - walked);
            got := 0;
            -- Scalar targets, not a record: the columns of dynamic SQL are then known to plpgsql_check.
            for r_id, r_created_at, r_found in execute
                'select k.id, k.created_at, (select case when not m.search_vector @@ $1 then 0'
                || ' when true' || filters || attached || ' then 2 else 1 end'
                || ' from public.messages m where m.id = k.id)'
                || ' from (select m.id, m.created_at from public.messages m'
                || ' where m.conversation_id = any($2)' || bounds
                || case when last_at is null then '' else ' and (m.created_at, m.id) < ($6, $7)' end
                || ' order by m.created_at desc, m.id desc limit $8) k'
                using words, mine, from_user, not_before, before, last_at, last_id, step, me
            loop
                got := got + 1;
                last_at := r_created_at;
                last_id := r_id;
                if r_found > 0 then
                    matches := matches + 1;
                end if;
                if r_found = 2 then
                    return next r_id;
                    hits := hits + 1;
                    if hits >= wanted then
                        return;
                    end if;
                end if;
            end loop;
            walked := walked + got;
            if got < step then
                return;  -- the walk saw every message of the caller's there is
            end if;
            exit when walked >= budget;
            -- Rows still to walk at this rate, each as dear as row_cost matches, against the matches the GIN
            -- index would fetch (the caller's share of matches so far, over the whole table): stop when the
            -- index is cheaper.
            if messages is null then
                select greatest(c.reltuples, walked) into messages
                from pg_catalog.pg_class c where c.oid = 'public.messages'::regclass;
            end if;
            exit when hits = 0
                or (wanted - hits)::real * walked / hits * row_cost > matches::real / walked * messages;
        end loop;
    end if;

    -- The rest from the GIN index: every match older than the last row walked in the caller's
    -- conversations — listed when they are few (so the planner can intersect the words' index with the
    -- conversations'), else a hashed join to the memberships — then the newest first.
    return query execute
        'with matched as materialized (select m.id, m.created_at from public.messages m'
        || ' where m.search_vector @@ $1 and'
        || case when pg_catalog.cardinality(mine) <= few then ' m.conversation_id = any($2)' else member end
        || filters || bounds || attached
        || case when last_at is null then '' else ' and (m.created_at, m.id) < ($6, $7)' end
        || ') select id from matched order by created_at desc, id desc limit $8'
        using words, mine, from_user, not_before, before, last_at, last_id, wanted - hits, me;
end
$$;

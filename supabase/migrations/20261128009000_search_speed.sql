-- Search at a million messages: the candidate helper picks its way by how common the words turn out to be.
--
-- What bounded the first version (EXPLAIN (ANALYZE, BUFFERS) at 1,000,000 messages in 1,000 conversations,
-- as a member of all of them):
--   * a SQL function is planned once for any query text, so "charlie" (1 message in 10) took the plan of a
--     rare word: the GIN index's 100,000 matches fetched, joined, then sorted for the newest 21 — seconds;
--   * the same query with its words known is no better in general: the planner walked the created_at index
--     for a word of 1 message in 1,000 (21,000 rows read, ~280 ms) and bitmapped 1 in 10 (~100 ms).
-- Each of the two ways is cheap exactly where the other is not:
--   * newest first along messages_created_at_idx, checking each row's search_vector, stops after ~21/f
--     rows for a word in a fraction f of the messages: ~200 rows for a common word;
--   * the GIN index finds every match, so its cost is the number of matches: small for a rare word.
-- So the helper walks the newest messages first and lets the walk measure the words: after 200 rows, then
-- 400, 800…, it compares the rows still to walk at the rate it found the caller's matches with the matches
-- the GIN index would fetch (the rate of anyone's matches so far, over the whole table), and stops when
-- the index is cheaper or none was found; it also stops at a budget of 12,800 rows. Whatever is missing
-- then comes from the GIN index: every match older than the last row walked, found and sorted (in a
-- materialized CTE, so that the planner cannot turn it back into a walk). Results stay exact and in order
-- whichever way a query goes, and each step is planned with its values (EXECUTE).
-- The walk goes over everyone's messages and checks the caller's membership only for rows whose words
-- match (a hashed subplan), so it costs the same for a member of one conversation or of a thousand and is
-- bounded by the rows walked; the GIN step lists the caller's conversations when they are few (so the
-- planner can intersect the words' index with the conversations') and joins the memberships otherwise.
--
-- RLS stays the wall: the helper answers only with ids of the caller's conversations (auth.uid()), and the
-- app reads those rows under the messages policies as before.

create or replace function public.search_message_ids(
    query text, max_rows integer, in_conversation uuid default null, from_user uuid default null,
    with_attachment boolean default false, not_before timestamptz default null, before timestamptz default null,
    cursor_at timestamptz default null, cursor_id uuid default null
) returns setof uuid
    language plpgsql stable security definer set search_path = '' rows 21
as $$
declare
    probe constant integer := 200;  -- rows walked before first judging how far the page is (then 400, 800…)
    budget constant integer := 12800;  -- rows walked at most before the GIN index takes over
    few constant integer := 50;  -- up to this many conversations, the GIN step lists them
    words tsquery := pg_catalog.plainto_tsquery('simple'::regconfig, public.search_unaccent(query));
    wanted integer := least(greatest(max_rows, 1), 51);
    me uuid := auth.uid();
    mine uuid[];
    member text := ' exists (select 1 from public.memberships ms'
                   ' where ms.conversation_id = m.conversation_id and ms.user_id = $9)';
    filters text := ' and m.deleted_at is null';
    attached text := '';
    walked integer := 0;
    hits integer := 0;  -- rows walked that match, in the caller's conversations
    matches integer := 0;  -- rows walked that match, in anyone's
    checkpoint integer := probe;
    messages real;
    stopped boolean := false;
    last_at timestamptz := cursor_at;
    last_id uuid := cursor_id;
    r_id uuid;
    r_created_at timestamptz;
    r_match boolean;
    r_hit boolean;
begin
    if pg_catalog.numnode(words) = 0 or me is null then
        return;
    end if;
    if from_user is not null then
        filters := filters || ' and m.sender_id = $3';
    end if;
    if not_before is not null then
        filters := filters || ' and m.created_at >= $4';
    end if;
    if before is not null then
        filters := filters || ' and m.created_at < $5';
    end if;
    if with_attachment then
        attached := ' and exists (select 1 from public.attachments a where a.message_id = m.id)';
    end if;

    -- Newest first over everyone's messages (the created_at index), each row checked for the words and
    -- then, only if they match, for the caller's membership: the walk costs the same for a member of one
    -- conversation or of a thousand, and it is bounded by the budget. One conversation has its own index
    -- (conversation_id, seq) beside the words', so a search inside one goes straight to the next step.
    if in_conversation is null then
        -- Scalar targets, not a record: the columns of dynamic SQL are then known to plpgsql_check.
        for r_id, r_created_at, r_match, r_hit in execute
            'select m.id, m.created_at, w.match, (w.match and' || member || ') as hit'
            || ' from public.messages m, lateral (select m.search_vector @@ $1' || attached || ' as match) w'
            || ' where true' || filters
            || case when last_at is null then '' else ' and (m.created_at, m.id) < ($6, $7)' end
            || ' order by m.created_at desc, m.id desc limit $8'
            using words, null::uuid[], from_user, not_before, before, last_at, last_id, budget, me
        loop
            walked := walked + 1;
            last_at := r_created_at;
            last_id := r_id;
            if r_match then
                matches := matches + 1;
            end if;
            if r_hit then
                return next r_id;
                hits := hits + 1;
                if hits >= wanted then
                    return;
                end if;
            end if;
            if walked = checkpoint then
                -- Rows still to walk at this rate, against the matches the GIN index would fetch (the
                -- walked share of matches over the whole table): stop when the index is cheaper.
                if messages is null then
                    select greatest(c.reltuples, walked) into messages
                    from pg_catalog.pg_class c where c.oid = 'public.messages'::regclass;
                end if;
                if hits = 0 or (wanted - hits)::real * walked / hits > matches::real / walked * messages then
                    stopped := true;
                    exit;
                end if;
                checkpoint := checkpoint * 2;
            end if;
        end loop;
        if not stopped and walked < budget then
            return;  -- the walk saw every message there is
        end if;
    end if;

    -- The rest from the GIN index: every match older than the last row walked in the caller's
    -- conversations — listed when they are few (so the planner can intersect the words' index with the
    -- conversations'), else a hashed join to the memberships — then the newest first.
    select pg_catalog.array_agg(c.conversation_id) into mine
    from (select ms.conversation_id from public.memberships ms
          where ms.user_id = me and (in_conversation is null or ms.conversation_id = in_conversation)
          limit few + 1) c;
    if mine is null then
        return;
    end if;
    return query execute
        'with matched as materialized (select m.id, m.created_at from public.messages m'
        || ' where m.search_vector @@ $1 and'
        || case when pg_catalog.cardinality(mine) <= few then ' m.conversation_id = any($2)' else member end
        || filters || attached
        || case when last_at is null then '' else ' and (m.created_at, m.id) < ($6, $7)' end
        || ') select id from matched order by created_at desc, id desc limit $8'
        using words, mine, from_user, not_before, before, last_at, last_id, wanted - hits, me;
end
$$;

revoke all on function public.search_message_ids(text, integer, uuid, uuid, boolean, timestamptz, timestamptz,
                                                 timestamptz, uuid) from public, anon;
grant execute on function public.search_message_ids(text, integer, uuid, uuid, boolean, timestamptz, timestamptz,
                                                    timestamptz, uuid) to authenticated;

"""The search index behind RLS, proved in SQL (Postgres only): searching ``search_vector`` as a user finds only
the messages of that user's conversations; anon can neither read it nor call the unaccent wrapper."""
import pytest
from psycopg import errors

from chat.actions import members, messages

from .test_rls import make_world, pg  # noqa: F401  (fixture)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("backend", ["postgres"], indirect=True),
]

MATCH = ("select id::text from public.messages "
         "where search_vector @@ plainto_tsquery('simple', public.search_unaccent(%s))")


@pytest.fixture
def world(alice, bob, carol):
    return make_world(alice, bob, carol)


def test_a_user_finds_only_their_conversations_messages(pg, world):  # noqa: F811
    # "secret!" is in Bob and Carol's direct conversation: found by them, invisible to Alice.
    assert pg.rows(world["alice"], MATCH, ("SECRET",)) == []
    assert pg.rows(world["carol"], MATCH, ("SECRET",)) == [(world["bc_msg"],)]
    assert pg.rows(world["alice"], MATCH, ("club",)) == []  # nor Bob's group she is not in
    assert pg.rows(world["alice"], MATCH, ("alice",)) == [(world["ab_bob"],)]  # hers, by its current text
    assert pg.count_as_server("select count(*) from public.messages where search_vector @@ "
                              "plainto_tsquery('simple', 'secret')") == 1


def test_a_removed_member_no_longer_finds_in_sql(pg, world):  # noqa: F811
    assert pg.rows(world["carol"], MATCH, ("business",)) == [(world["group_msg"],)]
    members.remove_member(world["bob"], world["group"], world["carol"])
    assert pg.rows(world["carol"], MATCH, ("business",)) == []


def test_the_index_follows_edits_and_deletes_in_sql(pg, world):  # noqa: F811
    messages.edit_message(world["bob"], world["bc_msg"], "nothing to see")
    assert pg.rows(world["carol"], MATCH, ("secret",)) == []
    assert pg.rows(world["carol"], MATCH, ("nothing",)) == [(world["bc_msg"],)]
    messages.delete_message(world["bob"], world["bc_msg"])
    assert pg.rows(world["carol"], MATCH, ("nothing",)) == []


def test_anon_cannot_search_or_call_the_wrapper(pg, world):  # noqa: F811
    with pg.as_role("anon") as cur, pytest.raises(errors.InsufficientPrivilege):
        cur.execute("select public.search_unaccent('x')")
    with pg.as_role("anon", world["alice"]) as cur, pytest.raises(errors.InsufficientPrivilege):
        cur.execute("select count(*) from public.messages where search_vector @@ plainto_tsquery('simple', 'x')")


def test_the_candidate_helper_answers_only_for_the_callers_conversations(pg, world):  # noqa: F811
    ids = "select found::text from public.search_message_ids(%s, 50) as found"
    assert pg.rows(world["alice"], ids, ("secret",)) == []
    assert pg.rows(world["carol"], ids, ("secret",)) == [(world["bc_msg"],)]
    assert pg.rows(world["alice"], "select count(*) from public.search_message_ids(%s, 50, %s)",
                   ("secret", world["bc"])) == [(0,)]  # naming another's conversation does not help
    with pg.as_server() as cur:
        cur.execute("select p.prosecdef, p.proconfig, has_function_privilege('anon', p.oid, 'execute') "
                    "from pg_proc p where p.proname = 'search_message_ids'")
        assert cur.fetchall() == [(True, ['search_path=""', 'jit=off'], False)]  # no JIT: its steps are short

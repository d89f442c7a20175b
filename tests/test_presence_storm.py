"""Streams that come and go in crowds (a reconnect storm, a deploy): presence debounced, set-ups admitted.

A closed stream still counts for a grace: reopened within it, nobody hears of it; not reopened, the sweep
announces the person offline once. A process holds one presence token per person and renews them all in
one round trip. Stream set-ups beyond the process's turns wait, then get 503 with ``Retry-After``.
"""
import threading
import time

import pytest
import redis

from chat.actions import members
from chat.delivery import admission, presence_hooks, stream
from chat.delivery.presence import MemoryPresence, RedisPresence

from .sql_support import starting_with, statements_run
from .test_events_api import open_stream


@pytest.fixture(params=["memory", "redis"])
def presence(request):
    if request.param == "memory":
        return MemoryPresence()
    client = redis.Redis.from_url(request.getfixturevalue("redis_server").url, decode_responses=True)
    client.flushall()
    return RedisPresence(lambda: client)


def leave(presence, user_id, token, grace):
    """``user_id``'s last stream under ``token`` closed just now, as the upkeep gives it up."""
    presence.leave_many({user_id: time.time()}, token, grace, 30)


def test_a_token_given_up_with_a_grace_counts_until_it_lapses_and_is_reported_once(presence):
    assert presence.connect("ann", "worker-1", 30) is True
    leave(presence, "ann", "worker-1", 0.3)  # nothing to announce yet
    assert presence.statuses(["ann"]) == {"ann": "online"}
    assert presence.expired_users() == []
    time.sleep(0.4)
    assert presence.statuses(["ann"]) == {"ann": "offline"}
    assert presence.expired_users() == ["ann"]
    assert presence.expired_users() == []


def test_a_crowd_leaving_is_given_up_in_one_call_from_when_each_left_but_not_who_came_back(presence):
    crowd = [f"person-{i}" for i in range(1500)]  # more than one script call's worth on Redis
    for user_id in [*crowd, "back"]:
        presence.connect(user_id, "worker-1", 30)
    left_at = time.time()
    presence.connect("back", "worker-1", 30)  # reopened after leaving, before the upkeep gave the token up
    presence.leave_many({**{u: left_at for u in crowd}, "back": left_at}, "worker-1", 0.3, 30)
    presence.leave_many({"nobody": left_at}, "worker-1", 0.3, 30)  # no token here: nothing to give up
    assert presence.statuses(["person-0", "person-1499", "back"]) == {
        "person-0": "online", "person-1499": "online", "back": "online"}  # the grace
    assert presence.expired_users() == []
    time.sleep(0.4)
    assert presence.online_among([*crowd, "back", "nobody"]) == {"back"}
    assert sorted(presence.expired_users() + presence.expired_users() + presence.expired_users()) == sorted(crowd)
    assert presence.last_seen(["person-7"])["person-7"] == pytest.approx(left_at, abs=0.01)


def test_closing_a_stream_on_a_server_waits_for_the_upkeep_to_give_the_token_up(swept, alice):
    live = swept.extensions["chat.broker"].presence
    token = presence_hooks.stream_opened(alice["id"])
    presence_hooks.stream_closed(alice["id"], token)
    time.sleep(0.4)  # past the grace: but nothing was given up yet, so she still counts
    assert live.statuses([alice["id"]]) == {alice["id"]: "online"}
    presence_hooks.give_up_left()
    assert live.statuses([alice["id"]]) == {alice["id"]: "offline"}  # the grace counted from the close
    presence_hooks.give_up_left()  # nothing left to give up


def test_online_among_counts_live_tokens_and_graces_only(presence):
    presence.connect("ann", "worker-1", 30)
    presence.connect("bo", "worker-1", 30)
    leave(presence, "bo", "worker-1", 0.3)  # still counts, for now
    presence.connect("cy", "worker-1", 30)
    presence.disconnect("cy", "worker-1")  # gone at once
    assert presence.online_among(["ann", "bo", "cy", "nobody"]) == {"ann", "bo"}
    time.sleep(0.4)
    assert presence.online_among(["ann", "bo", "cy"]) == {"ann"}
    assert presence.online_among([]) == set()


def test_a_crowd_that_lapsed_together_is_reported_once_each(presence):
    crowd = [f"person-{i}" for i in range(30)]
    for user_id in crowd:
        presence.connect(user_id, "worker-1", 30)
        leave(presence, user_id, "worker-1", 0.2)
    presence.connect("ann", "worker-1", 30)
    presence.connect("ann", "worker-2", 30)
    leave(presence, "ann", "worker-1", 0.2)  # her other tab stays
    time.sleep(0.3)
    assert sorted(presence.expired_users()) == sorted(crowd)
    assert presence.expired_users() == []
    assert presence.online_among(["ann", *crowd]) == {"ann"}


def test_a_token_taken_again_within_the_grace_is_not_a_first(presence):
    presence.connect("ann", "worker-1", 30)
    leave(presence, "ann", "worker-1", 0.3)
    assert presence.connect("ann", "worker-1", 30) is False  # back in time: nobody needs telling
    time.sleep(0.4)
    assert presence.expired_users() == []
    assert presence.statuses(["ann"]) == {"ann": "online"}


def test_another_tab_keeps_a_person_online_past_the_grace(presence):
    presence.connect("ann", "worker-1", 30)
    presence.connect("ann", "worker-2", 30)
    leave(presence, "ann", "worker-1", 0.2)
    time.sleep(0.3)
    assert presence.expired_users() == []
    assert presence.statuses(["ann"]) == {"ann": "online"}
    assert presence.disconnect("ann", "worker-2") is True


def test_renewing_many_in_one_go_says_who_was_reported_offline(presence):
    presence.connect("ann", "worker-1", 30)
    presence.connect("ben", "worker-1", 0.2)
    presence.connect("dee", "worker-1", 0.2)
    time.sleep(0.3)
    assert sorted(presence.expired_users()) == ["ben", "dee"]
    presence.connect("dee", "worker-2", 30)  # back in on another worker: "online" announced there
    presence.connect("eve", "worker-1", 0.2)
    time.sleep(0.3)  # eve lapsed, nobody told yet
    # ben was told offline, cy lost (a Redis restart): news. ann live, dee live elsewhere, eve unreported: not.
    assert presence.refresh_many(["ann", "ben", "cy", "dee", "eve"], "worker-1", 30) == ["ben", "cy"]
    assert presence.statuses(["ann", "ben", "cy", "eve"]) == {u: "online" for u in ["ann", "ben", "cy", "eve"]}
    assert presence.expired_users() == []
    assert presence.refresh_many([], "worker-1", 30) == []


def test_a_crowd_is_renewed_across_several_script_calls_in_order(presence):
    crowd = [f"person-{i}" for i in range(1200)]  # more than two script calls' worth on Redis
    news = {"person-3", "person-499", "person-500", "person-1199"}  # at the edges of the calls
    for user_id in crowd:
        if user_id not in news:
            presence.connect(user_id, "worker-1", 0.2)
    time.sleep(0.3)  # the rest lapsed, nobody told yet
    before = time.time()
    assert presence.refresh_many(crowd, "worker-1", 30) == sorted(news, key=crowd.index)
    assert presence.online_among(crowd) == set(crowd)
    assert presence.expired_users() == []
    seen = presence.last_seen(["person-0", "person-1199"])
    assert seen == {"person-0": pytest.approx(time.time(), abs=1), "person-1199": pytest.approx(time.time(), abs=1)}
    assert all(when >= before for when in seen.values())


def test_a_token_that_lapsed_unreported_is_not_a_first_until_reported(presence):
    presence.connect("ann", "worker-1", 0.2)  # its process died: never renewed, never given up
    time.sleep(0.3)
    assert presence.statuses(["ann"]) == {"ann": "offline"}
    assert presence.connect("ann", "worker-2", 30) is False  # nobody was told she left: nothing to say
    assert presence.expired_users() == []  # and the sweep finds her live
    leave(presence, "ann", "worker-2", 0.1)
    time.sleep(0.2)
    assert presence.expired_users() == ["ann"]  # told offline…
    assert presence.connect("ann", "worker-1", 30) is True  # …so back is news


@pytest.fixture
def swept(app, book_club, monkeypatch):
    """As a server runs: a background sweep reaps lapsed presence (here called by the test), short grace.
    (The data first: with ``sync`` off, a write would start the relay's own sweep.)"""
    monkeypatch.setattr(app.extensions["chat.relay"], "sync", False)
    monkeypatch.setattr(presence_hooks, "GRACE_SECONDS", 0.3)
    monkeypatch.setattr(presence_hooks, "HOLD_SECONDS", 0.3)
    return app


def test_a_stream_reopened_within_the_grace_announces_nothing(swept, record, alice, bob):
    token = presence_hooks.stream_opened(bob["id"])
    rec = record(alice)
    presence_hooks.stream_closed(bob["id"], token)  # dropped…
    token = presence_hooks.stream_opened(bob["id"])  # …and back
    presence_hooks.stream_closed(bob["id"], presence_hooks.stream_opened(bob["id"]))  # a second tab came and went
    time.sleep(0.4)
    presence_hooks.reap_lapsed()
    assert rec.take(alice) == []
    presence_hooks.stream_closed(bob["id"], token)  # gone for good
    presence_hooks.reap_lapsed()
    assert rec.take(alice) == []
    time.sleep(0.4)
    presence_hooks.reap_lapsed()
    presence_hooks.reap_lapsed()
    assert [(e.type, e.data) for e in rec.take(alice)] == [("presence", {"user_id": bob["id"], "status": "offline"})]
    presence_hooks.stream_opened(bob["id"])
    assert [(e.type, e.data) for e in rec.take(alice)] == [("presence", {"user_id": bob["id"], "status": "online"})]


def test_offline_waits_while_streams_queue_to_be_set_up(swept, record, alice, bob):
    token = presence_hooks.stream_opened(bob["id"])
    rec = record(alice)
    presence_hooks.stream_closed(bob["id"], token)
    time.sleep(0.4)  # past the grace…
    setups = admission._setups()
    turns = [setups.enter(0) for _ in range(admission.SETUPS)]
    waiter = threading.Thread(target=lambda: setups.enter(5).release())  # …while streams queue to come back
    waiter.start()
    deadline = time.monotonic() + 5
    while not admission.crowded() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert admission.crowded()
    presence_hooks.reap_lapsed()
    assert rec.take(alice) == []  # held back
    turns.pop().release()
    waiter.join(5)
    assert not admission.crowded()
    for turn in turns:
        turn.release()
    presence_hooks.reap_lapsed()
    assert rec.take(alice) == []  # every process's sweep holds off a little longer: more may be on the way
    time.sleep(0.4)
    presence_hooks.reap_lapsed()
    assert [(e.type, e.data) for e in rec.take(alice)] == [("presence", {"user_id": bob["id"], "status": "offline"})]


@pytest.fixture
def club_with_dave(book_club, alice, dave):
    """book-club with dave in it too (made before ``swept``: see there)."""
    members.add_member(alice["id"], book_club["id"], dave["id"])
    return book_club


def test_a_crowds_lapses_take_one_query_and_reach_only_contacts_who_are_online(club_with_dave, swept, record,
                                                                            alice, bob, carol, dave):
    tokens = {p["id"]: presence_hooks.stream_opened(p["id"]) for p in (bob, carol)}
    rec = record(alice)  # online; dave, in the group too, has no stream
    unseen = swept.extensions["chat.broker"].subscribe(dave["id"])  # a queue for him, but no stream: offline
    for user_id, token in tokens.items():
        presence_hooks.stream_closed(user_id, token)
    time.sleep(0.4)
    with statements_run(swept.extensions["chat.db"].engine) as statements:
        presence_hooks.reap_lapsed()
    selects = starting_with(statements, "select")
    assert len(selects) == 1, selects  # both people's contacts in one query
    assert sorted((e.type, e.data["user_id"], e.data["status"]) for e in rec.take(alice)) == sorted(
        [("presence", bob["id"], "offline"), ("presence", carol["id"], "offline")])
    assert unseen.queue.empty()  # nobody named him: he was not online


def test_one_token_per_person_per_process(app, alice):
    first, second = presence_hooks.stream_opened(alice["id"]), presence_hooks.stream_opened(alice["id"])
    assert first == second
    presence_hooks.stream_closed(alice["id"], first)
    assert app.extensions["chat.broker"].presence.statuses([alice["id"]]) == {alice["id"]: "online"}
    presence_hooks.stream_closed(alice["id"], second)
    assert app.extensions["chat.broker"].presence.statuses([alice["id"]]) == {alice["id"]: "offline"}


def test_a_stream_sets_a_retry_spread_over_seconds(app, api_as, alice):
    delays = set()
    for _ in range(8):
        response = api_as(alice).get("/events", buffered=False)
        first = next(iter(response.response)).decode()
        delays.add(int(first.split("\n")[0].removeprefix("retry: ")))
        response.close()
    assert all(stream.RETRY_MS[0] <= d <= stream.RETRY_MS[1] for d in delays)
    assert len(delays) > 1


def test_stream_set_ups_beyond_the_turns_get_503_with_retry_after(app, api_as, alice, monkeypatch):
    monkeypatch.setattr(admission, "SETUP_WAIT", 0.05)
    turns = [admission._setups().enter(0) for _ in range(admission.SETUPS)]
    assert None not in turns and admission._setups().enter(0) is None  # every turn taken
    busy = api_as(alice).get("/events")
    assert busy.status_code == 503 and busy.json["error"]["code"] == "busy"
    assert 1 <= int(busy.headers["Retry-After"]) <= 5
    turns.pop().release()
    response, _ = open_stream(api_as(alice))  # a free turn: in
    response.close()
    turns.pop().release()
    for _ in range(admission.SETUPS + 2):  # a stream gives its turn back once set up (or closed)
        response, _ = open_stream(api_as(alice))
        response.close()
    for turn in turns:
        turn.release()
    assert all(admission._setups().enter(0) is not None for _ in range(admission.SETUPS))


def test_a_refused_stream_does_not_keep_a_turn(app, client, api_as, alice):
    assert client.get("/api/v1/events").status_code == 401  # not signed in: refused inside the admission
    assert all(admission._setups().enter(0) is not None for _ in range(admission.SETUPS))

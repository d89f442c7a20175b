"""The day-in-the-life plan (sizes, members, schedule) and the live / catch-up split of deliveries."""
import random

from bench.scenarios import day
from bench.streams import catchup_key, delivery_bucket


def test_sizes_are_mostly_small_with_a_few_large():
    sizes = day.conversation_sizes(1000, 500, random.Random(1))
    assert len(sizes) == 1000 and min(sizes) == 2 and max(sizes) == 500
    assert sum(1 for n in sizes if n == 2) == 600
    assert sum(1 for n in sizes if n <= 10) >= 850 and sum(1 for n in sizes if n > 50) == 50
    assert max(day.conversation_sizes(100, 100, random.Random(1))) == 100


def test_everyone_is_in_a_conversation_once_and_pairs_are_unique():
    rng = random.Random(2)
    sizes = day.conversation_sizes(100, 100, rng)
    members = day.assign_members(500, sizes, rng)
    assert [len(m) for m in members] == sizes
    assert {p for m in members for p in m} == set(range(500))
    assert all(len(set(m)) == len(m) for m in members)
    pairs = [frozenset(m) for m in members if len(m) == 2]
    assert len(pairs) == len(set(pairs))


def test_a_pair_is_not_repeated_even_when_few_people_are_left():
    members = day.assign_members(3, [2, 2, 2, 2], random.Random(3))
    assert sorted(sorted(m) for m in members) == [[0, 1], [0, 2], [1, 2]]  # the fourth pair cannot exist


def test_schedule():
    sizes = [2, 5, 300]
    actions = day.schedule(sizes, rate=20, seconds=10, typing=0.8, reads=0.5, rng=random.Random(4))
    assert [a[0] for a in actions] == sorted(a[0] for a in actions) and actions[0][0] >= 0
    messages = [a for a in actions if a[1] == "message"]
    assert [a[4] for a in messages] == list(range(200))
    assert abs(messages[1][0] - messages[0][0] - 1 / 20) < 1e-9
    by_index = {a[4]: a for a in messages}
    typing = [a for a in actions if a[1] == "typing"]
    reads = [a for a in actions if a[1] == "read"]
    assert 120 < len(typing) < 195 and 60 < len(reads) < 140
    for t, _kind, c, member, i in typing:  # the sender types in the same conversation, before sending
        assert (c, member) == by_index[i][2:4] and t < by_index[i][0]
    for t, _kind, c, member, i in reads:  # someone else reads it, after it was sent
        assert c == by_index[i][2] and member != by_index[i][3] and 0 <= member < sizes[c] and t > by_index[i][0]


def test_deliveries_after_a_reconnect_are_catch_up():
    assert delivery_bucket(7, 10.0, None, 10.05, True) == (7, 10.05 - 10.0)
    assert delivery_bucket(7, 10.0, 9.0, 10.05, True) == (7, 10.05 - 10.0)  # sent after the reconnect: live
    bucket, latency = delivery_bucket(7, 10.0, 12.0, 12.5, True)  # sent while away
    assert bucket == catchup_key(7) and latency == 0.5
    assert delivery_bucket(7, 10.0, 12.0, 12.5, False) == (7, 2.5)  # other scenarios time it from the send


def test_a_run_of_a_few_scenarios_makes_only_their_data():
    from bench.config import FULL, QUICK
    from bench.run import SCENARIOS
    from bench.scenarios.seeding import needs
    everything = needs(QUICK, lambda name: name in SCENARIOS)
    assert everything == {"storm": True, "fanout": True, "small": True, "hub": True, "day": True, "people": 1000}
    assert needs(FULL, lambda name: name in SCENARIOS)["people"] == 10_000
    assert needs(QUICK, lambda name: name in ("sends", "day")) == {
        "storm": False, "fanout": False, "small": False, "hub": False, "day": True, "people": 500}
    assert needs(QUICK, lambda name: name == "costs") == {
        "storm": False, "fanout": True, "small": True, "hub": True, "day": False, "people": 1000}

"""Loss and duplicate accounting."""
from bench.scenarios import tally

GROUPS = [("c0", [{"key": "a"}, {"key": "b"}])]


def test_gaps_tails_and_duplicates():
    results = [("m1", 0, 201, 0), ("m2", 0, 201, 0), ("m3", 0, 500, 0), ("m4", 0, 201, 0)]
    seen = {"a": {"m1": 1, "m4": 2}, "b": {"m1": 1, "m2": 1}}
    got = tally(results, GROUPS, seen)
    assert (got["sent_ok"], got["expected"], got["delivered"]) == (3, 6, 4)
    assert (got["lost"], got["lost_gaps"], got["lost_tail"], got["duplicates"]) == (2, 1, 1, 1)


def test_failed_sends_are_not_expected():
    got = tally([("m1", 0, "timeout", 30.0)], GROUPS, {})
    assert got["expected"] == 0 and got["lost"] == 0

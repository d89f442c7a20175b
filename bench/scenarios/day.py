"""(9) A day in the life: many people in conversations of every size, talking, typing, reading, coming and going.

``day_people`` people (the last of the run's people), each with one stream, in ``day_conversations``
conversations of 2 to ``day_max_size`` members (most small: direct conversations and groups of a few; a few
large), made through the action layer when the run's data is made. Then, for ``day_seconds``, open loop
through the real API with bearer tokens:

- ``day_rate`` messages/s, each to a random conversation from a random member;
- before a share ``day_typing`` of them, a typing notice from the same person in the same conversation;
- ``day_reads`` read marks per message, from other members, a few seconds after it, up to its ``seq``;
- ``day_churn`` times a second a person with a cursor closes their stream and reopens it 1–10 s later with
  ``Last-Event-ID`` (the stream workers' ``churn``).

Figures: live delivery p50/p99 (a message sent while its reader was away is a *catch-up* delivery, timed
from the reconnect and reported apart), losses and duplicates over every member of every message
(must be 0), the POST latencies, and the CPU seconds the app (its gunicorn processes), Postgres and Redis
spent per message sent (the harness's process monitor; typing, reads and reconnects are part of the mix, and
the window runs until the last delivery). App only: the null SSE server has no typing nor reads.
"""
import time

from ..stats import summary_ms
from ..streams import catchup_key
from ..targets import collect, stream_stats, wait_for_quiet, wait_for_settled
from ..workers import call_all
from . import OK_STATUSES, send_errors, tally

STEP = 900
# (share of the conversations, smallest, largest): most are direct conversations and groups of a few
SIZE_MIX = ((0.60, 2, 2), (0.25, 3, 10), (0.10, 11, 50), (0.04, 51, 200), (0.01, 201, 500))
TYPING_LEAD = 1.0  # seconds before its message a typing notice may start
READ_AFTER = (0.5, 3.0)  # seconds after its message a read mark comes


def conversation_sizes(count, max_size, rng, mix=SIZE_MIX):
    """``count`` conversation sizes from ``mix``, capped at ``max_size``; the largest is ``max_size``."""
    sizes = []
    for share, low, high in reversed(mix):  # largest first: rounding then cuts (or pads) pairs
        n = round(share * count)
        sizes += [min(rng.randint(low, high), max_size) for _ in range(n)]
    sizes = (sizes + [2] * count)[:count]
    if sizes:
        sizes[max(range(len(sizes)), key=sizes.__getitem__)] = max_size
    rng.shuffle(sizes)
    return sizes


def assign_members(people, sizes, rng):
    """Member indices (into ``people`` people) for each size: everyone is in at least one conversation when the
    sizes add up to ``people`` or more (people are taken from shuffled passes over everyone); no one twice
    in a conversation; no two conversations of two with the same pair."""
    passes, members_of, pairs = [], [], set()
    for size in sizes:
        size = min(size, people)
        chosen, put_back = [], []
        while len(chosen) < size:
            if not passes:
                passes = list(range(people))
                rng.shuffle(passes)
            person = passes.pop()
            if person in chosen or (size == 2 and chosen and frozenset((chosen[0], person)) in pairs):
                put_back.append(person)
                if len(put_back) > 4 * people:  # every possible pair of this person is taken
                    break
                continue
            chosen.append(person)
        passes.extend(put_back)
        if size == 2 and len(chosen) == 2:
            pairs.add(frozenset(chosen))
        members_of.append(chosen)
    return [m for m in members_of if len(m) >= 2]


def schedule(sizes, rate, seconds, typing, reads, rng):
    """The day's actions, in time order: ``(offset s, kind, conversation index, member index, message)``.

    Message ``i`` is at ``TYPING_LEAD + i / rate`` (open loop); a typing notice of the same person precedes
    it with probability ``typing``; ``reads`` read marks per message (on average) follow it, each by another
    member (where there is one), for that message.
    """
    actions = []
    for i in range(max(1, int(rate * seconds))):
        t = TYPING_LEAD + i / rate
        c = rng.randrange(len(sizes))
        sender = rng.randrange(sizes[c])
        actions.append((t, "message", c, sender, i))
        if rng.random() < typing:
            actions.append((t - TYPING_LEAD * rng.uniform(0.2, 1.0), "typing", c, sender, i))
        count = int(reads) + (rng.random() < reads - int(reads))
        for _ in range(count if sizes[c] > 1 else 0):
            reader = (sender + rng.randrange(1, sizes[c])) % sizes[c]
            actions.append((t + rng.uniform(*READ_AFTER), "read", c, reader, i))
    actions.sort(key=lambda a: a[0])
    return actions


def make_conversations(app, member_lists):
    """Direct conversations for the pairs, groups for the rest; returns [(conversation id, [person…])]."""
    from .. import seed
    pairs = [m for m in member_lists if len(m) == 2]
    groups = [m for m in member_lists if len(m) > 2]
    pair_ids = seed.directs(app, [tuple(m) for m in pairs]) if pairs else []
    group_ids = seed.groups(app, groups, "day") if groups else []
    return list(zip(pair_ids, pairs, strict=True)) + list(zip(group_ids, groups, strict=True))


def run(run, target, people, groups, sizes):
    import random
    rng = random.Random(9)
    target.configure_streams(tracking=True, auto_resume=True, split_catchup=True)
    opened = target.open_streams(people, concurrency=run.sizes.connect_concurrency)
    target.configure_sender(groups, pool_size=50)
    settled = wait_for_settled(run, timeout=120, quiet=2)
    collect(run)
    actions = schedule([len(m) for _c, m in groups], sizes.day_rate, sizes.day_seconds, sizes.day_typing,
                       sizes.day_reads, rng)
    run.monitor.watch("app", [p.pid for p in target.processes()])
    app_cpu0, started = target.cpu_seconds(), time.monotonic()
    run.sender.send("day", actions=actions, step=STEP, prefix="day")
    workers = run.stream_workers
    churn = call_all(workers, "churn", timeout=sizes.day_seconds + 300,
                     per_second=sizes.day_churn / len(workers), duration=sizes.day_seconds, away=list(sizes.day_away),
                     args_for=lambda i: {"seed": i})
    sent = run.sender.receive(timeout=sizes.day_seconds + 600)
    ok = [r for r in sent["results"] if r[2] in OK_STATUSES]
    expected = sum(len(groups[r[1]][1]) for r in ok)
    wait_for_quiet(run, expected=expected, timeout=120, quiet=10)
    ended = time.monotonic()
    app_cpu = target.cpu_seconds() - app_cpu0
    got = collect(run, seen=True)
    stats = stream_stats(run)
    parts = run.monitor.cpu_seconds(started, ended)
    messages = max(len(sent["results"]), 1)  # every send attempted: a timed-out one is still served
    group_sizes = sorted(len(m) for _c, m in groups)
    outcome = {
        "people": len(people), "connected": opened["ok"], "settled_seconds": settled,
        "conversations": len(groups), "memberships": sum(group_sizes),
        "sizes": {"min": group_sizes[0], "median": group_sizes[len(group_sizes) // 2], "max": group_sizes[-1],
                  "pairs": sum(1 for n in group_sizes if n == 2), "over_50": sum(1 for n in group_sizes if n > 50)},
        "rate": sizes.day_rate, "seconds": sizes.day_seconds, "late_starts": sent["late_starts"],
        "messages": len(sent["results"]), "send_errors": send_errors(sent["results"]),
        "post_ms": summary_ms([r[3] for r in ok]),
        "typing": {"sent": len(sent["other"]["typing"]["latencies"]), "errors": sent["other"]["typing"]["errors"],
                   "post_ms": summary_ms(sent["other"]["typing"]["latencies"])},
        "reads": {"sent": len(sent["other"]["read"]["latencies"]), "errors": sent["other"]["read"]["errors"],
                  "skipped": sent["other"]["read"]["skipped"],
                  "post_ms": summary_ms(sent["other"]["read"]["latencies"])},
        "churn": {"closed": sum(c["closed"] for c in churn), "reopened": sum(c["reopened"] for c in churn),
                  "gave_up": sum(c["gave_up"] for c in churn),
                  "skipped_no_cursor": sum(c["skipped_no_cursor"] for c in churn),
                  "errors": {k: v for c in churn for k, v in c["errors"].items()}},
        "delivery_ms": summary_ms(got["latencies"].get(STEP, [])),
        "catchup_ms": summary_ms(got["latencies"].get(catchup_key(STEP), [])),
        "server_closed": stats.get("lost", 0), "auto_reconnects": stats.get("reconnects", 0),
        "events": got["events"], "mean_event_bytes": got["event_bytes"], "resets": got["resets"],
        "measured_seconds": round(ended - started, 1),
        "app_cpu_seconds": round(app_cpu, 2), "cpu_seconds_by_part": parts,
        "app_cpu_ms_per_message": round(1000 * app_cpu / messages, 2),
        "postgres_cpu_ms_per_message": round(1000 * parts.get("postgres", 0.0) / messages, 2),
        "redis_cpu_ms_per_message": round(1000 * parts.get("redis", 0.0) / messages, 2),
        **tally(sent["results"], groups, got["seen"]),
    }
    call_all(workers, "close")
    d = outcome["delivery_ms"]
    run.log(f"  {target.name}: {len(people)} people, {len(groups)} conversations, {len(ok)} messages at "
            f"{sizes.day_rate}/s: delivery p50 {d['p50']} ms, p99 {d['p99']} ms (catch-up p99 "
            f"{outcome['catchup_ms']['p99']} ms); lost {outcome['lost']}, duplicated {outcome['duplicates']}; "
            f"{outcome['churn']['closed']} streams came and went; app CPU {outcome['app_cpu_ms_per_message']} ms "
            f"per message (Postgres {outcome['postgres_cpu_ms_per_message']} ms)")
    return outcome

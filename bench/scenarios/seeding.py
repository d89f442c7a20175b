"""The run's people and conversations, made once through the action layer and shared by the scenarios.

- ``people``: one stream each in the idle ramp and the storm, grouped ``storm_group`` at a time;
- the fan-out group: the first ``fanout_members`` people;
- small groups of ``small_group`` among the first ``small_people`` people (deliveries/s), and of
  ``also_small_group`` too when the run compares group sizes;
- a day in the life: ``day_conversations`` of 2 to ``day_max_size`` among the last ``day_people`` people
  (directs for the pairs, groups for the rest);
- 8 direct pairs for sends, 8 for pgbench (and the null insert app), a 2-person group with the bulk
  history, and a "hub" person in ``inbox_conversations`` direct conversations, each with one unread message.

Only what the run's scenarios use is made (``needs``), so that ``--only`` starts sooner.

The events the set-up records (member.added for every member of every group) describe a past before any
stream existed; they are marked published so the app does not replay them into the measurements.
"""
import random
import time

import psycopg

from .. import seed
from . import day


def _chunks(items, size):
    return [items[i:i + size] for i in range(0, len(items), size) if len(items[i:i + size]) >= 2]


def needs(sizes, wants):
    """What the wanted scenarios need made: ``{"people": count, "storm", "fanout", "small", "hub", "day"}``.

    ``wants(name)`` says whether a scenario runs; ``costs`` uses the fan-out group, a small group, the
    history and the hub. A run of a few scenarios (``--only``) makes only their data, so it starts sooner.
    """
    need = {"storm": wants("storm"), "fanout": wants("fanout") or wants("costs"),
            "small": wants("deliveries") or wants("costs"), "hub": wants("history") or wants("costs"),
            "day": wants("day")}
    counts = [2]
    if wants("idle") or need["storm"]:
        counts.append(sizes.idle_steps[-1])
    if need["fanout"]:
        counts.append(sizes.fanout_members)
    if need["small"]:
        counts.append(sizes.small_people)
    if need["hub"]:
        counts.append(sizes.inbox_conversations)
    if need["day"]:
        counts.append(sizes.day_people)
    need["people"] = max(counts)
    return need


def make(run, db):
    sizes = run.sizes
    need = needs(sizes, run.wants)
    app = seed.setup_app(db.sqlalchemy_url, None)
    pairs = sizes.sends_concurrency
    with app.app_context():
        t = time.monotonic()
        everyone = seed.people(app, need["people"] + 1 + 4 * pairs + 2)
        run.log(f"  {len(everyone)} people signed up in {time.monotonic() - t:.1f} s")
        people, extra = everyone[:need["people"]], everyone[need["people"]:]
        hub, extra = extra[0], extra[1:]
        send_people, extra = extra[:2 * pairs], extra[2 * pairs:]
        pgbench_people, history_pair = extra[:2 * pairs], extra[2 * pairs:2 * pairs + 2]

        t = time.monotonic()
        storm_members = _chunks(people[:sizes.idle_steps[-1]], sizes.storm_group) if need["storm"] else []
        storm_ids = seed.groups(app, storm_members, "storm") if storm_members else []
        fanout_members = people[:sizes.fanout_members] if need["fanout"] else []
        fanout_id = seed.groups(app, [fanout_members], "fan-out")[0] if need["fanout"] else None
        small_people = people[:sizes.small_people] if need["small"] else []
        small_members = _chunks(small_people, sizes.small_group)
        small_ids = seed.groups(app, small_members, "small") if small_members else []
        also_members = _chunks(small_people, sizes.also_small_group) if sizes.also_small_group else []
        also_ids = seed.groups(app, also_members, "smaller") if also_members else []
        history_id = seed.groups(app, [history_pair], "history")[0]
        run.log(f"  {len(storm_ids) + len(small_ids) + len(also_ids) + 1 + need['fanout']} groups made in "
                f"{time.monotonic() - t:.1f} s")

        t = time.monotonic()
        send_pairs = [(send_people[2 * i], send_people[2 * i + 1]) for i in range(pairs)]
        send_ids = seed.directs(app, send_pairs)
        pg_pairs = [(pgbench_people[2 * i], pgbench_people[2 * i + 1]) for i in range(pairs)]
        pg_ids = seed.directs(app, pg_pairs)
        others = people[:sizes.inbox_conversations] if need["hub"] else []
        hub_ids = seed.directs(app, [(hub, other) for other in others]) if others else []
        if others:
            seed.send_one_each(app, [(other, cid, f"hello hub, from {other['key']}")
                                     for other, cid in zip(others, hub_ids, strict=False)])
        run.log(f"  {len(hub_ids) + 2 * pairs} direct conversations made in {time.monotonic() - t:.1f} s")

        day_groups = []
        if need["day"]:
            t = time.monotonic()
            day_people = people[-sizes.day_people:]
            rng = random.Random(13)
            plan = day.assign_members(len(day_people), day.conversation_sizes(
                sizes.day_conversations, sizes.day_max_size, rng), rng)
            day_groups = day.make_conversations(app, [[day_people[i] for i in members] for members in plan])
            run.log(f"  day in the life: {len(day_groups)} conversations of {len(day_people)} people "
                    f"({sum(len(m) for _c, m in day_groups):,} memberships, largest "
                    f"{max(len(m) for _c, m in day_groups)}) made in {time.monotonic() - t:.1f} s")

    app.extensions["chat.db"].dispose()
    if need["hub"]:
        t = time.monotonic()
        seconds = seed.bulk_history(db.url, history_id, [p["id"] for p in history_pair], sizes.history_messages)
        run.log(f"  {sizes.history_messages} history messages inserted (generate_series) in {seconds:.1f} s")
    with psycopg.connect(db.url, autocommit=True) as conn:
        marked = conn.execute("update public.outbox set published_at = now() where published_at is null").rowcount
    run.log(f"  {marked} set-up outbox rows marked published (no stream existed when they happened)")
    return {
        "people": people, "hub": hub,
        "storm_groups": list(zip(storm_ids, storm_members, strict=False)),
        "fanout_id": fanout_id, "fanout_members": fanout_members,
        "small_people": small_people, "small_groups": list(zip(small_ids, small_members, strict=False)),
        "also_small_groups": list(zip(also_ids, also_members, strict=False)),
        "day_people": people[-sizes.day_people:], "day_groups": day_groups,
        "send_pairs": [(cid, list(pair)) for cid, pair in zip(send_ids, send_pairs, strict=False)],
        "pgbench_targets": [(cid, pair[0]["id"]) for cid, pair in zip(pg_ids, pg_pairs, strict=False)],
        "insert_pairs": [(cid, list(pair)) for cid, pair in zip(pg_ids, pg_pairs, strict=False)],
        "history_id": history_id, "history_reader": history_pair[0],
    }

"""(2) Fan-out: one message at a time to a large group with every member connected."""
from ..stats import summary_ms
from ..targets import collect, wait_for_quiet, wait_for_settled
from ..workers import call_all
from . import send_errors, tally

STEP = 200


def run(run, target, group_id, members, messages, interval):
    target.configure_streams(tracking=True)
    target.prepare_groups([(group_id, members)])
    opened = target.open_streams(members, concurrency=run.sizes.connect_concurrency)
    target.configure_sender([(group_id, members[:1])])  # the owner sends
    settled = wait_for_settled(run)
    connect_events = collect(run)["events"]  # what opening the streams caused (presence announcements)
    sent = run.sender.call("open_loop", timeout=messages * interval + 300, rate=1 / interval,
                           duration=messages * interval, step=STEP, prefix="fan")
    ok = sum(1 for r in sent["results"] if r[2] in (200, 201, 204))
    wait_for_quiet(run, expected=ok * len(members), timeout=120, quiet=10)
    got = collect(run, seen=True)
    latencies = got["latencies"].get(STEP, [])
    outcome = {"members": len(members), "connected": opened["ok"], "messages": messages,
               "settled_seconds": settled, "events_while_connecting": connect_events, "events": got["events"],
               "mean_event_bytes": got["event_bytes"],
               "delivery_ms": summary_ms(latencies),
               "send_ms": summary_ms([r[3] for r in sent["results"] if r[2] in (200, 201, 204)]),
               "send_errors": send_errors(sent["results"]),
               **tally(sent["results"], [(group_id, members)], got["seen"])}
    call_all(run.stream_workers, "close")
    d = outcome["delivery_ms"]
    run.log(f"  {target.name}: {len(members)} members, {messages} messages: delivery p50 {d['p50']} ms, "
            f"p99 {d['p99']} ms, max {d['max']} ms; lost {outcome['lost']}, duplicated {outcome['duplicates']}")
    return outcome

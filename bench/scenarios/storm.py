"""(5) Reconnect storm: every stream dropped at once and resumed with its last id, while messages flow.

Every stream first receives one message (so it holds a cursor); then messages are sent on a schedule,
every stream is dropped with a RST mid-way, and all reconnect at once with ``Last-Event-ID``. Each
message must reach each member's stream exactly once, across the drop.
"""
import time

from ..stats import summary_ms
from ..targets import collect, merge_summaries, stream_stats, wait_for_quiet, wait_for_settled
from ..workers import call_all
from . import send_errors, tally

PRIME_STEP, STORM_STEP = 500, 501
LATE_CHECK_SECONDS = 45


def run(run, target, groups, rate, seconds, drop_after, check=True):
    """``groups``: [(conversation id, [person…])] covering every open stream."""
    sender = run.sender
    open_keys = {k for a in call_all(run.stream_workers, "open_keys") for k in a["keys"]}
    groups = [(cid, members) for cid, members in groups if all(p["key"] in open_keys for p in members)]
    target.configure_sender(groups)
    wait_for_settled(run)
    collect(run)  # forget what the idle ramp received
    results, primed = [], 0
    if check:
        prime = sender.call("open_loop", timeout=600, rate=min(200, max(20, len(groups))),
                            duration=len(groups) / min(200, max(20, len(groups))), step=PRIME_STEP, prefix="prime")
        results += prime["results"]
        primed = sum(len(groups[i][1]) for _c, i, status, _l in prime["results"] if status in (200, 201))
        wait_for_quiet(run, expected=primed, timeout=60)
    sender.send("open_loop", rate=rate, duration=seconds, step=STORM_STEP, prefix="storm")
    time.sleep(drop_after)
    dropped_at = time.monotonic()
    dropped = sum(a["dropped"] for a in call_all(run.stream_workers, "drop"))
    resume = merge_summaries(call_all(run.stream_workers, "resume", timeout=900,
                                      concurrency=run.sizes.resume_concurrency))
    reconnected_in = time.monotonic() - dropped_at
    storm = sender.receive(timeout=seconds + 600)
    results += storm["results"]
    outcome = {"streams": dropped, "groups": len(groups), "reconnected": resume["ok"],
               "reconnect_attempts": resume.get("attempts"), "reconnect_failures": resume["errors"],
               "with_cursor": resume.get("with_cursor"), "reconnect_seconds": round(reconnected_in, 3),
               # when each stream came back: the bulk against the stragglers
               "back_ms": summary_ms(resume.get("back", [])),
               "rate": rate, "seconds": seconds, "send_errors": send_errors(results)}
    if check:
        expected = sum(len(groups[i][1]) for _c, i, status, _l in storm["results"] if status in (200, 201))
        # A stream that found the broker busy catches up at its next heartbeat (up to 20 s): wait longer.
        wait_for_quiet(run, expected=primed + expected, timeout=240, quiet=30)
        stats = stream_stats(run)
        outcome["server_closed_after_resume"], outcome["auto_reconnects"] = stats["lost"], stats["reconnects"]
        got = collect(run, seen=True, reset=False)
        outcome["delivery_ms"] = summary_ms(got["latencies"].get(STORM_STEP, []))
        outcome.update(tally(results, groups, got["seen"]))
        if outcome["lost"]:
            # Late or lost? Count again after three more heartbeats.
            time.sleep(LATE_CHECK_SECONDS)
            got = collect(run, seen=True)
            outcome["lost_at_first_count"] = outcome["lost"]
            outcome.update(tally(results, groups, got["seen"]))
            outcome["recounted_after_seconds"] = LATE_CHECK_SECONDS
            keys = sorted({e["person"] for e in outcome["lost_examples"]})
            outcome["lost_streams"] = {k: v for a in call_all(run.stream_workers, "describe", keys=keys)
                                       for k, v in a.items()}
        else:
            collect(run)
        outcome["resets"] = got["resets"]
        outcome["events"] = got["events"]
        run.log(f"  {target.name}: {dropped} dropped, {resume['ok']} back in {reconnected_in:.2f} s "
                f"({_back(outcome)}); lost {outcome['lost']}, duplicated {outcome['duplicates']}, "
                f"resets {outcome['resets']}, "
                f"delivery p99 {outcome['delivery_ms']['p99']} ms")
    else:
        run.log(f"  {target.name}: {dropped} dropped, {resume['ok']} back in {reconnected_in:.2f} s ({_back(outcome)})")
    return outcome


def _back(outcome):
    back = outcome["back_ms"]
    if not back["count"]:
        return "none back"
    p50, p90, p99 = (back[q] / 1000 for q in ("p50", "p90", "p99"))
    return f"half back in {p50:.2f} s, 90 % in {p90:.2f} s, 99 % in {p99:.2f} s"

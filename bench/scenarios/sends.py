"""(4) Sends: POST → commit → publish, closed-loop at a fixed concurrency (the rate, set beside pgbench at
the same concurrency), then open-loop at a fixed rate (the latency at that rate)."""
from ..stats import summary_ms
from ..targets import collect, wait_for_quiet, wait_for_settled
from ..workers import call_all
from . import OK_STATUSES, send_errors, tally

OPEN_STEP, CLOSED_STEP = 400, 401


def run(run, target, pairs, rate, seconds, concurrency, closed_seconds):
    """``pairs``: [(conversation id, [a, b])], one per closed-loop client; both members listen."""
    people = [p for _cid, members in pairs for p in members]
    target.configure_streams(tracking=True)
    target.open_streams(people)
    wait_for_settled(run)
    closed_loop = _closed(run, target, pairs, concurrency, closed_seconds)
    open_loop = _open(run, target, pairs, rate, seconds)
    call_all(run.stream_workers, "close")
    return {"open_loop": open_loop, "closed_loop": closed_loop}


def _closed(run, target, pairs, concurrency, seconds):
    target.configure_sender(pairs, pool_size=concurrency)
    collect(run)
    closed = run.sender.call("closed_loop", timeout=seconds + 300, concurrency=concurrency, duration=seconds,
                             step=CLOSED_STEP, prefix="c")
    wait_for_quiet(run, expected=2 * len(closed["latencies"]), timeout=60, quiet=5)
    got = collect(run)
    result = {"concurrency": concurrency, "seconds": round(closed["seconds"], 2),
              "sends_per_second": round(len(closed["latencies"]) / closed["seconds"], 1),
              "post_ms": summary_ms(closed["latencies"]), "errors": closed["errors"],
              "delivery_ms": summary_ms(got["latencies"].get(CLOSED_STEP, []))}
    run.log(f"  {target.name}: closed loop at concurrency {concurrency}: {result['sends_per_second']} sends/s, "
            f"POST p50 {result['post_ms']['p50']} ms, p99 {result['post_ms']['p99']} ms")
    return result


def _open(run, target, pairs, rate, seconds):
    target.configure_sender(pairs, pool_size=50)
    collect(run)
    sent = run.sender.call("open_loop", timeout=seconds + 300, rate=rate, duration=seconds, step=OPEN_STEP,
                           prefix="s")
    ok = [r for r in sent["results"] if r[2] in OK_STATUSES]
    wait_for_quiet(run, expected=2 * len(ok), timeout=120, quiet=10)
    got = collect(run, seen=True)
    result = {"rate": rate, "seconds": seconds, "late_starts": sent["late_starts"],
              "post_ms": summary_ms([r[3] for r in ok]), "send_errors": send_errors(sent["results"]),
              "delivery_ms": summary_ms(got["latencies"].get(OPEN_STEP, [])),
              **tally(sent["results"], pairs, got["seen"])}
    run.log(f"  {target.name}: {rate} msg/s open loop: POST p50 {result['post_ms']['p50']} ms, "
            f"p99 {result['post_ms']['p99']} ms; delivery p99 {result['delivery_ms']['p99']} ms; "
            f"errors {result['send_errors'] or 0}; lost {result['lost']}, duplicated {result['duplicates']}")
    return result

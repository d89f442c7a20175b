"""What one process holds: streams, greenlets, file descriptors, memory (for tests and benchmarks)."""
import gc
import os


def process_stats(broker):
    return {
        "pid": os.getpid(),
        "streams": broker.local_count(),
        "greenlets": _greenlets(),
        "fds": _count_fds(),
        "rss_kb": _rss_kb(),
        "gc_frozen": gc.get_freeze_count(),  # objects left out of collections (``server.freeze_startup_objects``)
    }


def _greenlets():
    try:
        from greenlet import greenlet
    except ImportError:
        return None
    return sum(1 for o in gc.get_objects() if isinstance(o, greenlet) and not o.dead)


def _count_fds():
    try:
        return len(os.listdir(f"/proc/{os.getpid()}/fd"))
    except OSError:
        return None


def _rss_kb():
    try:
        with open(f"/proc/{os.getpid()}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None

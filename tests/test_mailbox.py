"""A stream's mailbox under gevent: a bounded FIFO with one waiting reader, light while empty."""
import queue
import tracemalloc

import gevent
import gevent.queue
import pytest

from chat.delivery.mailbox import Mailbox


def test_items_come_out_in_order_and_a_full_mailbox_refuses_more():
    box = Mailbox(3)
    assert box.empty() and box.qsize() == 0
    for item in ("a", "b", "c"):
        box.put_nowait(item)
    with pytest.raises(queue.Full):
        box.put_nowait("d")
    assert box.qsize() == 3 and not box.empty()
    assert [box.get_nowait(), box.get(timeout=0), box.get_nowait()] == ["a", "b", "c"]
    assert box.empty()
    with pytest.raises(queue.Empty):
        box.get_nowait()
    box.put_nowait("e")  # room again once drained
    assert box.get_nowait() == "e"


@pytest.mark.parametrize("maxsize", [0, -1])
def test_an_unbounded_mailbox_takes_any_number(maxsize):
    box = Mailbox(maxsize)  # as with queue.Queue: 0 or less is no bound
    for i in range(5000):
        box.put_nowait(i)
    assert box.qsize() == 5000
    assert [box.get_nowait() for _ in range(5000)] == list(range(5000))


def test_get_waits_for_its_timeout_then_reports_empty():
    box = Mailbox(10)
    with pytest.raises(queue.Empty):
        box.get(timeout=0.05)
    with pytest.raises(queue.Empty):
        box.get(block=False)


def test_a_waiting_reader_wakes_when_another_greenlet_puts():
    box, got = Mailbox(10), []

    def reader():
        got.append(box.get(timeout=10))
        got.append(box.get(timeout=10))

    waiting = gevent.spawn(reader)
    gevent.sleep(0.01)  # the reader is now waiting on an empty mailbox
    assert not waiting.dead and got == []
    box.put_nowait("first")
    gevent.sleep(0.01)
    assert got == ["first"]  # woken by the put, not by its timeout
    box.put_nowait("second")
    box.put_nowait("third")
    waiting.join(timeout=5)
    assert waiting.successful() and got == ["first", "second"]
    assert box.get_nowait() == "third" and box.empty()


def _bytes_each(make, count=500):
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [make() for _ in range(count)]
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(kept) == count
    return used / count


def test_an_empty_mailbox_holds_a_small_fraction_of_a_gevent_queue():
    gevent_queue = _bytes_each(lambda: gevent.queue.Queue(1000))
    mailbox = _bytes_each(lambda: Mailbox(1000))

    def drained():
        box = Mailbox(1000)
        for i in range(50):
            box.put_nowait(i)
        while not box.empty():
            box.get_nowait()
        return box

    assert mailbox * 5 < gevent_queue
    assert _bytes_each(drained) * 5 < gevent_queue  # a drained mailbox lets its deque go

"""Server-Sent Events: one generator serves the JSON API's stream and the HTML UI's.

``sse_response(user_id, last_event_id, render, alive=None)`` returns the streaming response. The stream
subscribes first (a queue in this process), then reads the delivery log after the client's cursor, then
sends live events, skipping any it already sent. A cursor from another epoch, one the log has forgotten,
or one that is not well formed gets a ``reset`` event: the client reloads what it shows from the
database, which has everything.

Never lost, only delayed: a stream that cannot learn its position (the broker is down when it opens
without a cursor, or the page was rendered while it was down) remembers that it is "blind" and, once
the broker is back, replays the whole log if the log began a new life meanwhile, else sends ``reset``.
It never settles on "the latest entry", which could lie after events published while it waited.
"""
import logging
import queue
import random
import time
from functools import partial

from flask import current_app, g, request

from . import presence_hooks
from .broker import BrokerUnavailable, CursorTooOld, EpochChanged
from .events import (
    CLOSE,
    REPLACED,
    RESYNC,
    SESSION,
    ZERO,
    blind_cursor,
    entry_key,
    parse_blind,
    parse_cursor,
)
from .sse import cut_off, format_event, json_render, limit_send_buffer, watch_hangup

log = logging.getLogger(__name__)

RETRY_MS = (1000, 5000)  # an EventSource waits this long (ms, uniformly spread) before reconnecting
PENDING_RETRY = 0.5  # seconds before a catch-up that found the broker busy is tried again (then doubling)
PAGE = 500          # log entries read per round trip when catching up
MAX_BATCH = 100     # queued events written to the socket in one go
MAX_HEARTBEAT = 20  # seconds; proxies (Heroku: 55 s) drop quieter connections
# The credentials behind the stream are gone: the client should not reconnect soon (it would get 401).
SESSION_EXPIRED = "retry: 600000\nevent: session-expired\ndata: {}\n\n"
# A newer stream of the same person took this one's place: wait long before coming back, so that a
# forgotten tab does not push out another one every few seconds.
REPLACED_TEXT = "retry: 600000\n: replaced by a newer stream of yours\n\n"


def sse_response(user_id, last_event_id, render, alive=None):
    """A ``text/event-stream`` response of ``user_id``'s events, resuming after ``last_event_id``.

    ``render(event)`` receives ``{"id": <cursor str, or None for typing/presence>, "type": <event type>,
    "data": <dict>}`` and returns an iterable of ``(sse_event_name, data_string)`` pairs; multi-line data
    is sent as several ``data:`` lines. The event's ``id:`` goes with its last pair. Check that the user
    may open the stream before calling this (an unauthenticated request gets 401, never a redirect).

    ``alive``, if given, is a callable of no arguments, run in an app context (no request) whenever the
    stream sends a heartbeat (at most every 20 s; its ``heartbeat()`` method instead, if it has one: an
    answer that may be a little older, checked for many streams at once) and at once when an ephemeral
    ``session`` event for ``user_id`` arrives (``broker.publish_ephemeral([user_id], "session", {...})``,
    e.g. on sign-out or a revoked token). When it returns False the stream sends ``event: session-expired`` (with a long
    ``retry:``) and ends. If it raises, the stream stays open and asks again next time: a database
    hiccup must not drop every stream at once. ``session`` events themselves are never sent to clients.
    """
    app = current_app._get_current_object()
    app.extensions["chat.relay"].start()  # this process sweeps the outbox while it holds streams
    stream = EventStream(app, user_id, render, alive=alive,
                         heartbeat=min(float(app.config["SSE_HEARTBEAT_SECONDS"]), MAX_HEARTBEAT))
    sock = request.environ.get("gunicorn.socket") or request.environ.get("gunicorn.sock")  # gevent, pywsgi
    if sock is not None:
        limit_send_buffer(sock, int(app.config["SSE_SEND_BUFFER"]))
    # No request context is kept for the stream's life (it costs memory per connection): presence and
    # rendering run in an app context of their own.
    turn = g.pop("stream_turn", None)  # see ``admission``: given back once the stream is set up
    # The body goes to the server as it is (bytes): no wrapper around it, and the response object is not
    # kept for the stream's life (memory per connection).
    response = current_app.response_class(stream.run(last_event_id, sock, turn), mimetype="text/event-stream",
                                          direct_passthrough=True)
    if turn is not None:
        response.call_on_close(turn.release)  # HEAD: the body is never run
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # nginx and friends: do not buffer the stream
    return response


class EventStream:
    """One client's stream: its position in the log (``epoch``, ``entry``) and what it has sent."""

    __slots__ = ("alive", "app", "broker", "continuous", "cursor", "entry", "epoch", "heartbeat", "last_order",
                 "pending", "render", "user_id")

    def __init__(self, app, user_id, render, heartbeat=15.0, alive=None):
        self.app, self.broker = app, app.extensions["chat.broker"]
        self.user_id, self.render, self.heartbeat, self.alive = user_id, render, heartbeat, alive
        self.epoch = self.entry = None  # None until the position is known
        self.cursor = None              # the client's cursor, until the position is established
        self.pending = False            # the broker was unreachable: catch up when it is back
        self.continuous = False         # caught up with the log once: a new epoch then is all new to us
        self.last_order = {}            # conversation -> (outbox row, index) last sent, so no replay repeats

    def run(self, last_event_id, sock=None, turn=None):
        """The response body: a generator of SSE text, encoded. ``turn`` (if given) is released once the stream
        is set up: its position fixed, what the client missed sent, its presence counted."""
        sub = self.broker.subscribe(self.user_id)  # first, so nothing published from now on is missed
        hangup = None
        if sock is not None:
            sub.on_overflow = partial(cut_off, sock)
            hangup = watch_hangup(sock, partial(self.broker.offer, sub, CLOSE))
        token = None
        try:
            self.cursor = last_event_id or None
            # The position, before any byte; a retry spread over seconds, so that streams dropped together
            # (a deploy, a network blip) do not all come back in the same second.
            # Without a cursor: the position is now. With one: the position and what the client missed.
            first = (f"retry: {random.randint(*RETRY_MS)}\n\n"
                     + self._catch_up(self._start if self.cursor is None else self._resync))
            token = self._in_app(presence_hooks.stream_opened, self.user_id)
            if turn is not None:
                turn.release()  # set up: the writing, however slow the client, is not the gate's business
            yield first.encode()
            first = None  # a resume's catch-up can be long: not kept for the stream's life
            last_write = last_check = time.monotonic()
            backoff, retry_at = PENDING_RETRY, last_write + PENDING_RETRY
            while not sub.closed:
                item = out = None  # what was last sent is not kept while waiting (memory per stream)
                now = time.monotonic()
                wait = self.heartbeat - (now - last_write)
                if self.pending:
                    wait = min(wait, retry_at - now)
                item = sub.get(max(0.05, wait))
                out, closing = self._handle(item, sub)
                now = time.monotonic()
                if now - last_check >= self.heartbeat and not closing:
                    last_check = now
                    if not self._still_alive(fresh=False):
                        out, closing = out + SESSION_EXPIRED, True
                if self.pending and not closing and now >= retry_at:
                    # The broker (or its pool) was busy: try again soon, then less often, up to a heartbeat.
                    out += self._catch_up(self._resync)
                    backoff = PENDING_RETRY if not self.pending else min(2 * backoff, self.heartbeat)
                    retry_at = now + backoff
                elif not self.pending:
                    backoff, retry_at = PENDING_RETRY, now + PENDING_RETRY
                if not out and now - last_write >= self.heartbeat:
                    out = ": ping\n\n"
                if out:
                    last_write = now
                    yield out.encode()
                if closing:
                    return
        finally:
            if hangup is not None:
                hangup.stop()
            if turn is not None:
                turn.release()
            self.broker.unsubscribe(sub)
            if token is not None:
                self._in_app(presence_hooks.stream_closed, self.user_id, token)

    def _in_app(self, fn, *args):
        with self.app.app_context():
            return fn(*args)

    def _still_alive(self, fresh=True):
        """Whether the credentials behind the stream still hold (see ``sse_response``)."""
        if self.alive is None:
            return True
        check = self.alive if fresh else getattr(self.alive, "heartbeat", self.alive)
        try:
            return self._in_app(check) is not False
        except Exception:
            log.exception("checking whether the stream of %s may go on failed", self.user_id)
            return True

    def _handle(self, item, sub):
        """(SSE text for ``item`` and whatever else is queued already, whether to close the stream)."""
        parts = []
        while item is not None:
            if item is CLOSE:
                return "".join(parts), True
            if item is REPLACED:
                return "".join(parts) + REPLACED_TEXT, True
            if getattr(item, "type", None) == SESSION:
                if not self._still_alive():
                    return "".join(parts) + SESSION_EXPIRED, True
            else:
                parts.append(self._catch_up(self._resync) if item is RESYNC else self._on_event(item))
            if len(parts) >= MAX_BATCH:
                break
            try:
                item = sub.queue.get_nowait()
            except queue.Empty:
                item = None
        return "".join(parts), False

    # --- position ------------------------------------------------------------------------------------
    def _catch_up(self, step):
        """Run ``step`` (a generator of SSE text); if the broker is unreachable, try again later."""
        parts = []
        for _ in range(3):
            try:
                parts.extend(step())
                self.pending = False
                return "".join(parts)
            except EpochChanged:
                continue
            except BrokerUnavailable as error:
                log.info("stream for %s waits for the broker: %s", self.user_id, error)
                break
        self.pending = True
        return "".join(parts)

    def _start(self):
        """Fix the stream's position: now, the client's cursor, all of a new log, or (after ``reset``) now.
        A well-formed cursor is taken as it is: the log read after it checks its epoch in the same round
        trip (``_replay``)."""
        if self.cursor is None:
            # Should the broker fail now, "now" is lost: from then on the stream is blind (see the module).
            self.cursor = blind_cursor(self.broker.known_epoch)
            epoch = self.broker.epoch()
            self.epoch, self.entry = epoch, self.broker.latest(self.user_id)
            self.cursor, self.continuous = None, True
            return
        known = parse_blind(self.cursor)
        if known is not None:
            epoch = self.broker.epoch()
            if known and known != epoch:
                # The log began a new life after the position was lost: everything in it came later.
                self.epoch, self.entry, self.cursor = epoch, ZERO, None
            else:
                # Same log (or none known): nothing says which of its entries came after. Reload.
                yield from self._reset(epoch)
            return
        cursor = parse_cursor(self.cursor)
        if cursor is None:
            yield from self._reset(self.broker.epoch())
        else:
            self.epoch, self.entry = cursor
        self.cursor = None

    def _resync(self):
        """Read the log from where this stream is (after opening, or a possible gap in the live feed)."""
        if self.epoch is None:
            yield from self._start()
        yield from self._replay()
        self.continuous = True

    def _replay(self):
        lives = 0
        while True:
            try:
                page = self.broker.read_log(self.user_id, self.epoch, self.entry, PAGE)
            except EpochChanged as changed:
                lives += 1
                if lives > 2:
                    raise  # the log keeps starting over: ``_catch_up`` tries again later
                epoch = changed.epoch or self.broker.epoch()
                if not self.continuous:
                    yield from self._reset(epoch)  # a cursor of another log: nothing says what came after
                    return
                # The log began a new life while this stream was following it: everything in it is new here.
                self.epoch, self.entry = epoch, ZERO
                continue
            except CursorTooOld:
                yield from self._reset(self.broker.epoch())
                return
            for event in page:
                yield self._emit(event)
            if len(page) < PAGE:
                return

    def _reset(self, epoch):
        self.epoch, self.entry = epoch, self.broker.latest(self.user_id)
        self.cursor, self.continuous = None, True
        self.last_order.clear()
        yield format_event([("reset", "{}")] if self.render is json_render else
                   self._render({"id": f"{epoch}:{self.entry}", "type": "reset", "data": {}}),
                   f"{epoch}:{self.entry}")

    # --- events --------------------------------------------------------------------------------------
    def _on_event(self, event):
        if event.entry is None:
            return self._format(event)  # typing, presence: live only
        if self.epoch is None or self.pending or not self.continuous:
            return ""  # the catch-up read will bring it
        if event.epoch != self.epoch:
            return self._catch_up(self._resync)
        if entry_key(event.entry) <= entry_key(self.entry):
            return ""  # already sent from the log
        return self._emit(event)

    def _emit(self, event):
        self.entry = event.entry
        if event.conversation_id is not None:
            order = (event.row, event.k)
            last = self.last_order.get(event.conversation_id)
            if last is not None and order <= last:
                return ""  # republished into a new epoch after it had already reached us
            self.last_order[event.conversation_id] = order
        return self._format(event)

    def _format(self, event):
        if self.render is json_render:
            return format_event(((event.type, event.data_json()),), event.id)
        return format_event(self._render(event.as_dict()), event.id)

    def _render(self, event):
        try:
            with self.app.app_context():
                return list(self.render(event) or ())
        except Exception:
            log.exception("rendering a %s event failed", event["type"])
            return []


def current_cursor(user_id):
    """The cursor of "now" for ``user_id``; while the broker is unreachable, the "position unknown" one.

    A page renders it into its stream URL (``?last_event_id=``) so that the stream resumes from the
    moment the page was rendered: nothing published in between is lost. A page rendered during an outage
    carries the marker, and its stream replays or resets as one opened blind does (see the module).
    """
    broker = current_app.extensions["chat.broker"]
    known = broker.known_epoch
    try:
        return f"{broker.epoch()}:{broker.latest(user_id)}"
    except BrokerUnavailable:
        return blind_cursor(known)

"""The relay: publishes committed outbox rows to the broker and marks them published.

``kick()`` runs after every commit that recorded events; a background greenlet (a thread outside gevent)
in each process also sweeps every ``interval`` seconds for rows left unpublished, e.g. while Redis was
down, so a send never waits for the broker and nothing waits for long once it is back. Upkeep that may take
a while (presence reaping after a storm, pruning) runs every ``interval`` in a greenlet of its own, so it
never holds up a batch.

Rows of one conversation go out in id order, which is commit order: each batch publishes every
unpublished row of its conversations in id order, and the broker ignores a row it has already
published, so even two relays racing cannot put a later row first. A row published but not marked (a
crash, a lost reply) is published again as a no-op. So that relays in several processes do not do the
same work twice, a batch holds an advisory lock per conversation on Postgres (taken in a fixed order,
so they cannot deadlock); on SQLite the single writer lock serializes batches.

Only the server writes the outbox, yet a row is delivered only if it is true to the database (defence in
depth: a row that names a sender, seq or conversation other than its own would put words in someone's
mouth): see ``screen``. A row that fails is marked published without being delivered, and logged.
"""
import logging
import os
import threading
import time
import uuid
from datetime import timedelta

import sqlalchemy as sa

from ..schema import conversations, memberships, message_edits, messages, outbox, users, utcnow
from . import fanout
from .broker import BrokerUnavailable

log = logging.getLogger(__name__)

LOCK_CLASS = 7_301_002  # advisory lock namespace: "chat relay, one conversation"
PRUNE_EVERY = 60.0


class Relay:
    """Moves outbox rows to ``broker``. ``sync=True`` publishes inside ``kick()`` (tests, scripts)."""

    def __init__(self, app, db, broker, *, interval=1.0, batch_size=500, sync=False, retention=86_400):
        self.app, self.db, self.broker = app, db, broker
        self.interval, self.batch_size, self.sync, self.retention = interval, batch_size, sync, retention
        self.sweep_hooks = []  # quick callables run after each sweep (waking the push and webhook senders)
        self.upkeep_hooks = []  # callables run every ``interval`` beside the sweep (presence reaping, pruning)
        # Consumers of the log beyond the streams (push, webhooks): ``hook(conn, rows)`` runs inside the
        # batch's transaction with the rows it has just marked published, so each row reaches each consumer
        # exactly once. A hook only writes its own work rows there (no network); its sweep hook does the rest.
        self.publish_hooks = []
        self._lock = threading.Lock()        # one batch at a time in this process
        self._start_lock = threading.Lock()
        self._wake = threading.Event()
        self._thread = self._upkeep = None
        self._pid = None
        self._stopping = False
        self._last_prune = time.monotonic()
        self._last_warning = 0.0

    def kick(self):
        """Publish what was just committed: now when ``sync``, else by waking the background sweep."""
        if self.sync:
            self.publish_quietly()
            return
        self.start()
        self._wake.set()

    def start(self):
        """Start this process's sweep (idempotent; safe after fork)."""
        if self.sync or (self._pid == os.getpid() and self._thread is not None and self._thread.is_alive()):
            return
        with self._start_lock:
            if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            self._pid, self._stopping = os.getpid(), False
            self._lock, self._wake = threading.Lock(), threading.Event()
            self._thread = threading.Thread(target=self._run, name="chat-relay", daemon=True)
            self._upkeep = threading.Thread(target=self._run_upkeep, name="chat-upkeep", daemon=True)
            self._thread.start()
            self._upkeep.start()

    def stop(self, wait=2.0):
        self._stopping = True
        self._wake.set()
        if self._thread is not None and self._pid == os.getpid():
            self._thread.join(wait)
            self._upkeep.join(wait)

    def _run(self):
        failures = 0
        while not self._stopping:
            self._wake.wait(self.interval if not failures else min(self.interval * (failures + 1), 3.0))
            self._wake.clear()
            if self._stopping:
                return
            failures = 0 if self.publish_quietly() else failures + 1
            with self.app.app_context():
                for hook in self.sweep_hooks:
                    _run_quietly(hook)

    def _run_upkeep(self):
        while not self._stopping:
            time.sleep(self.interval)
            if self._stopping:
                return
            with self.app.app_context():
                for hook in self.upkeep_hooks:
                    _run_quietly(hook)
                if time.monotonic() - self._last_prune > PRUNE_EVERY:
                    self._last_prune = time.monotonic()
                    _run_quietly(self.prune)

    def publish_quietly(self):
        """``publish_pending()``, logging instead of raising; True if everything went out."""
        try:
            self.publish_pending()
            return True
        except BrokerUnavailable as error:
            if time.monotonic() - self._last_warning > 30:
                self._last_warning = time.monotonic()
                log.warning("broker unavailable, events wait in the outbox: %s", error)
        except Exception:
            log.exception("publishing the outbox failed")
        return False

    def publish_pending(self):
        """Publish every committed, unpublished row; returns how many. Raises ``BrokerUnavailable``."""
        total = 0
        while True:
            count = self._publish_batch()
            total += count
            if count < self.batch_size:
                return total

    def _publish_batch(self):
        error = None
        with self._lock, self.db.transaction() as conn:
            head = conn.execute(_HEAD, {"limit": self.batch_size}).all()
            if not head:
                return 0
            ids = sorted({str(r.conversation_id) for r in head if r.conversation_id is not None})
            if self.db.is_postgres:
                _lock_conversations(conn, ids)
            rows = conn.execute(_BATCH, {"ids": ids, "head": head[-1].id, "limit": self.batch_size}).all()
            genuine, refused, found = screen(conn, rows)
            if refused:
                conn.execute(_MARK_PUBLISHED, {"ids": refused, "at": utcnow()})
            published = 0
            try:
                if genuine:
                    published = self.broker.publish(fanout.expand(conn, genuine, found))
            except BrokerUnavailable as failure:
                published, error = failure.published, failure
            if published:
                conn.execute(_MARK_PUBLISHED, {"ids": [r.id for r in genuine[:published]], "at": utcnow()})
                for hook in self.publish_hooks:
                    hook(conn, genuine[:published])
        if error is not None:
            raise error
        return len(rows)

    def prune(self):
        """Delete rows published more than ``retention`` seconds ago."""
        cutoff = utcnow() - timedelta(seconds=self.retention)
        with self.db.transaction() as conn:
            old = (sa.select(outbox.c.id).where(outbox.c.published_at.is_not(None), outbox.c.published_at < cutoff)
                   .order_by(outbox.c.id).limit(5000))
            conn.execute(outbox.delete().where(outbox.c.id.in_(old.scalar_subquery())))


# The relay's statements, built once: building a statement costs about as much CPU as running it (~150 µs
# each), and a batch runs about ten.
_ANY = sa.bindparam("ids", expanding=True)
_HEAD = (sa.select(outbox.c.id, outbox.c.conversation_id).where(outbox.c.published_at.is_(None))
         .order_by(outbox.c.id).limit(sa.bindparam("limit")))
# The rows of the conversations locked, and rows of no conversation up to the head's last.
_BATCH = (sa.select(outbox)
          .where(outbox.c.published_at.is_(None),
                 sa.or_(outbox.c.conversation_id.in_(_ANY),
                        sa.and_(outbox.c.conversation_id.is_(None), outbox.c.id <= sa.bindparam("head"))))
          .order_by(outbox.c.id).limit(sa.bindparam("limit")))
_MARK_PUBLISHED = (outbox.update().where(outbox.c.id.in_(_ANY))
                   .values(published_at=sa.bindparam("at", type_=outbox.c.published_at.type)))
_LOCK = sa.text("select count(pg_advisory_xact_lock(:cls, k)) from "
                "(select distinct hashtext(c) as k from unnest(cast(:ids as text[])) c order by k) keys")
# Conversations named by a batch, each with those of the people named who are its members.
_NAMED = (sa.select(conversations, memberships.c.user_id.label("member_id"))
          .outerjoin(memberships, sa.and_(memberships.c.conversation_id == conversations.c.id,
                                          memberships.c.user_id.in_(sa.bindparam("people", expanding=True))))
          .where(conversations.c.id.in_(_ANY)))
_STORED = (sa.select(messages.c.id, messages.c.conversation_id, messages.c.seq, messages.c.sender_id,
                     messages.c.kind, messages.c.body, messages.c.deleted_at, messages.c.revision)
           .where(messages.c.id.in_(_ANY)))


MESSAGE_EVENTS = ("message.created", "message.updated", "message.deleted")
MEMBER_EVENTS = ("member.added", "member.removed", "read")
REACTION_EVENTS = ("reaction.added", "reaction.removed")
USER_EVENTS = ("user.updated",)
EVENTS = MESSAGE_EVENTS + MEMBER_EVENTS + ("conversation.updated",) + REACTION_EVENTS


def screen(conn, rows):
    """``(genuine rows, ids of refused rows, {conversation_id: conversation row})``: which rows are true to
    the database, in two or three queries; the conversations they name come along for the fan-out.

    Every row names an existing conversation, of which its payload claims no other. A message event
    names a message of that conversation with the payload's seq, sender and kind, a body that the message
    has or had (none, and deleted, for ``message.deleted``), and only our own attachment links.
    ``member.added`` and ``read`` name a member, or someone a later row of the batch removes;
    ``member.removed`` names someone of a group who is no longer a member, or whom a later row adds back.
    ``user.updated`` belongs to no conversation and names an existing person, and nothing else.
    """
    claims = [(row, _claims(row)) for row in rows]
    cids = {c["conversation_id"] for _, c in claims if c and c["conversation_id"] is not None}
    profiled = {c["user_id"] for row, c in claims if c and row.event_type in USER_EVENTS}
    existing = set()
    if profiled:
        existing = {str(r.id) for r in conn.execute(sa.select(users.c.id).where(users.c.id.in_(list(profiled))))}
    people = {c["user_id"] for row, c in claims if c and "user_id" in c and row.event_type not in USER_EVENTS}
    message_ids = {c["id"] for row, c in claims if c and row.event_type in MESSAGE_EVENTS + REACTION_EVENTS}
    kinds, members, named = {}, set(), {}
    if cids:
        found = conn.execute(_NAMED, {"people": list(people), "ids": list(cids)}).all()
        for r in found:
            kinds[str(r.id)] = r.kind
            named[str(r.id)] = r
            if r.member_id is not None:
                members.add((str(r.id), str(r.member_id)))
    stored = {}
    if message_ids:
        found = conn.execute(_STORED, {"ids": list(message_ids)}).all()
        stored = {str(r.id): r for r in found}
    # A body other than the current one must be an earlier version (the message was edited since).
    earlier = {c["id"] for row, c in claims
               if c and row.event_type in MESSAGE_EVENTS and c["id"] in stored
               and stored[c["id"]].deleted_at is None and row.payload.get("body") != stored[c["id"]].body}
    versions = {}
    if earlier:
        found = conn.execute(sa.select(message_edits.c.message_id, message_edits.c.body)
                             .where(message_edits.c.message_id.in_(list(earlier))))
        for r in found:
            versions.setdefault(str(r.message_id), set()).add(r.body)
    last = {}  # (conversation, event type, person) -> the batch position of its last member event
    for i, (row, claim) in enumerate(claims):
        if claim and row.event_type in MEMBER_EVENTS:
            last[(claim["conversation_id"], row.event_type, claim["user_id"])] = i
    genuine, refused = [], []
    for i, (row, claim) in enumerate(claims):
        if row.event_type in USER_EVENTS:
            reason = _user_refusal(claim, existing)
        else:
            reason = _refusal(row, claim, kinds, members, (stored, versions), last, i)
        if reason is None:
            genuine.append(row)
        else:
            refused.append(row.id)
            log.warning("outbox row %s (%s, conversation %s) not delivered: %s",
                        row.id, row.event_type, row.conversation_id, reason)
    return genuine, refused, named


def _claims(row):
    """The ids a row's payload names, normalized; None when they are missing or malformed."""
    payload = row.payload
    if row.event_type in USER_EVENTS:
        if row.conversation_id is not None or not isinstance(payload, dict) or set(payload) != {"user_id"}:
            return None
        user_id = _uuid(payload["user_id"])
        return {"conversation_id": None, "user_id": user_id} if user_id is not None else None
    if row.event_type not in EVENTS or row.conversation_id is None or not isinstance(payload, dict):
        return None
    claim = {"conversation_id": _uuid(row.conversation_id)}
    if "conversation_id" in payload and _uuid(payload["conversation_id"]) != claim["conversation_id"]:
        return None
    if row.event_type in MESSAGE_EVENTS:
        claim["id"] = _uuid(payload.get("id"))
        claim["sender_id"] = _uuid(payload.get("sender_id")) if payload.get("sender_id") is not None else None
        if claim["id"] is None or (payload.get("sender_id") is not None and claim["sender_id"] is None):
            return None
    elif row.event_type in MEMBER_EVENTS:
        claim["user_id"] = _uuid(payload.get("user_id"))
        if claim["user_id"] is None:
            return None
    elif row.event_type in REACTION_EVENTS:
        claim["id"], claim["user_id"] = _uuid(payload.get("message_id")), _uuid(payload.get("user_id"))
        if claim["id"] is None or claim["user_id"] is None:
            return None
    elif "user_id" in payload:  # conversation.updated for one member (their settings or read mark)
        claim["user_id"] = _uuid(payload["user_id"])
        if claim["user_id"] is None:
            return None
    return claim if claim["conversation_id"] is not None else None


def _user_refusal(claim, existing):
    """Why a ``user.updated`` row must not be delivered, or None."""
    if claim is None:
        return "a profile event names a conversation, more than a person, or a malformed id"
    if claim["user_id"] not in existing:
        return "no such person"
    return None


def _refusal(row, claim, kinds, members, messages_found, last, position):
    """Why ``row`` (at ``position`` in the batch) must not be delivered, or None."""
    if claim is None:
        return "unknown type, or a payload naming another conversation or malformed ids"
    cid, payload = claim["conversation_id"], row.payload
    if cid not in kinds:
        return "no such conversation"
    if row.event_type in MESSAGE_EVENTS:
        stored, versions = messages_found
        message = stored.get(claim["id"])
        if (message is None or str(message.conversation_id) != cid or type(payload.get("seq")) is not int
                or payload["seq"] != message.seq or payload.get("kind") != message.kind
                or claim["sender_id"] != (str(message.sender_id) if message.sender_id is not None else None)):
            return "the payload's message, seq, sender or kind is not the stored message's"
        if row.event_type == "message.deleted":
            if message.deleted_at is None or payload.get("body") != "":
                return "the message is not deleted, or the event keeps its body"
        elif (message.deleted_at is None and payload.get("body") != message.body
              and payload.get("body") not in versions.get(claim["id"], ())):
            return "a body the message never had"
        if not _our_attachment_links(payload.get("attachments", [])):
            return "an attachment link that is not ours"
    elif row.event_type in REACTION_EVENTS:
        # A reaction names a message of this conversation, at its seq, at a revision it has reached.
        message = messages_found[0].get(claim["id"])
        emoji, revision = payload.get("emoji"), payload.get("revision")
        if (message is None or str(message.conversation_id) != cid or payload.get("seq") != message.seq
                or not isinstance(emoji, str) or not 0 < len(emoji) <= 32
                or type(revision) is not int or not 1 < revision <= message.revision):
            return "the payload's message, seq, emoji or revision is not the stored message's"
    elif row.event_type in MEMBER_EVENTS:
        user_id, is_member = claim["user_id"], (cid, claim["user_id"]) in members
        undo = "member.added" if row.event_type == "member.removed" else "member.removed"
        undone = last.get((cid, undo, user_id), -1) > position  # a later row of the batch undoes it
        if row.event_type == "member.removed":
            if kinds[cid] != "group":
                return "nobody leaves a direct conversation"
            if is_member and not undone:
                return "the person is still a member"
        elif not is_member and not undone:
            return "the person is not a member"
    elif "user_id" in claim and (cid, claim["user_id"]) not in members:
        return "the person is not a member"
    return None


def _our_attachment_links(items):
    if not isinstance(items, list):
        return False
    return all(isinstance(a, dict) and _uuid(a.get("id")) is not None
               and a.get("url") == f"/api/v1/attachments/{a['id']}/content" for a in items)


def _uuid(value):
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        return None


def _lock_conversations(conn, conversation_ids):
    """Take each conversation's advisory lock, in key order so that two relays cannot deadlock."""
    conn.execute(_LOCK, {"cls": LOCK_CLASS, "ids": conversation_ids})


def _run_quietly(fn):
    try:
        fn()
    except Exception:
        log.exception("background task %s failed", getattr(fn, "__name__", fn))

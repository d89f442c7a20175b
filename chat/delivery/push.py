"""Web Push from the log: who gets a push for each new message, and sending them outside any request.

``publish_hook`` runs in the relay's batch transaction (``relay.publish_hooks``) for the rows it has just
published. For each ``message.created`` (system messages excepted) it writes one ``push_deliveries`` row
per subscribed browser of each member the message would notify (``chat.notify``: their level, the
conversation's kind and size, whether the message mentions them — ``message_mentions`` rows or the event's
``mentions`` list), never the sender. The row's key (message, subscription) makes each message reach each
browser at most once, whatever restarts in between. No network here.

``send_due`` (the relay's sweep in every process, or ``flask push send``) claims due rows, then decides:
someone with an open event stream, or one opened since the message was sent, saw it there (``skipped``);
someone whose last stream closed less than ``PUSH_OFFLINE_SECONDS`` ago is waited for; everyone else gets
the push, encrypted and signed by ``chat.webpush``. A 404/410 forgets the subscription; other failures are
retried with doubling delays, ``PUSH_MAX_ATTEMPTS`` times in all. A claim leases its rows before sending,
so two processes never send the same row; a process that dies between sending and recording may send that
one push again after the lease (the ``Topic`` header lets the push service keep only one).
"""
import logging
import os
import threading
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from .. import notify, webpush
from ..schema import (
    conversations,
    memberships,
    message_mentions,
    messages,
    push_deliveries,
    push_subscriptions,
    users,
    utcnow,
)
from ..web.helpers import message_in_context
from .presence_hooks import quietly

log = logging.getLogger(__name__)

MAX_BODY = 200
KIND_TEXT = {"image": "Sent a picture", "file": "Sent a file", "audio": "Sent a voice message"}


def init_app(app, relay):
    """Hook Web Push into ``relay`` (when the app has VAPID keys)."""
    if not webpush.enabled(app.config):
        return
    from . import every
    relay.publish_hooks.append(make_publish_hook(app))
    relay.sweep_hooks.append(Sender(app, relay).wake)
    relay.upkeep_hooks.append(every(3600, prune))


class Sender:
    """This process's push thread: the relay's sweep wakes it, and a slow push service never holds up the
    relay (which publishes every live event) while it waits for an answer."""

    def __init__(self, app, relay):
        self.app, self.relay = app, relay
        self._thread, self._pid = None, None
        self._wake = threading.Event()
        self._lock = threading.Lock()

    def wake(self):
        with self._lock:
            if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
                self._pid, self._wake = os.getpid(), threading.Event()
                self._thread = threading.Thread(target=self._run, name="chat-push", daemon=True)
                self._thread.start()
        self._wake.set()
    wake.__name__ = "push_wake"

    def _run(self):
        while True:
            self._wake.wait(5.0)
            self._wake.clear()
            if self.relay._stopping:  # the relay's sweep stopped (shutdown, tests): so does this thread
                return
            try:
                with self.app.app_context():
                    send_due()
            except Exception:
                log.exception("sending pushes failed")
                time.sleep(1)


def make_publish_hook(app):
    is_postgres = app.extensions["chat.db"].is_postgres

    def publish_hook(conn, rows):
        work = push_work(conn, rows)
        if work:
            insert = (postgresql.insert if is_postgres else sqlite.insert)(push_deliveries)
            conn.execute(insert.on_conflict_do_nothing(), work)
    publish_hook.__name__ = "push_publish_hook"
    return publish_hook


# Members of some conversations with a device subscribed, for every batch the relay publishes: built once.
_SUBSCRIBED = (sa.select(memberships.c.conversation_id, memberships.c.user_id, memberships.c.notify,
                         push_subscriptions.c.id.label("subscription_id"))
               .join(push_subscriptions, push_subscriptions.c.user_id == memberships.c.user_id)
               .where(memberships.c.conversation_id.in_(sa.bindparam("ids", expanding=True))))


def push_work(conn, rows) -> list[dict]:
    """The ``push_deliveries`` rows that published outbox ``rows`` call for (one query per batch, three when
    someone in them has a device subscribed)."""
    created = [r for r in rows if r.event_type == "message.created" and isinstance(r.payload, dict)
               and r.payload.get("kind") != "system" and r.conversation_id is not None]
    if not created:
        return []
    cids = list({str(r.conversation_id) for r in created})
    message_ids = [str(r.payload["id"]) for r in created]
    subscribed = {}
    for r in conn.execute(_SUBSCRIBED, {"ids": cids}).all():
        subscribed.setdefault(str(r.conversation_id), []).append(r)
    if not subscribed:
        return []  # most batches: nobody in these conversations has a device subscribed
    count = (sa.select(sa.func.count()).where(memberships.c.conversation_id == conversations.c.id)
             .scalar_subquery())
    kinds = {str(r.id): (r.kind, r.member_count) for r in conn.execute(
        sa.select(conversations.c.id, conversations.c.kind, count.label("member_count"))
        .where(conversations.c.id.in_(list(subscribed))))}
    mentioned = {(str(r.message_id), str(r.user_id)) for r in conn.execute(
        sa.select(message_mentions.c.message_id, message_mentions.c.user_id)
        .where(message_mentions.c.message_id.in_(message_ids)))}
    now, work = utcnow(), []
    for row in created:
        cid, payload = str(row.conversation_id), row.payload
        kind, member_count = kinds.get(cid, ("group", 0))
        listed = payload.get("mentions") if isinstance(payload.get("mentions"), list) else []
        for member in subscribed.get(cid, ()):
            user_id = str(member.user_id)
            level = notify.level(member.notify, kind, member_count)
            is_mentioned = (str(payload["id"]), user_id) in mentioned or user_id in listed
            if notify.would_notify(level, mentioned=is_mentioned, own=user_id == str(payload.get("sender_id"))):
                work.append({"message_id": str(payload["id"]), "subscription_id": str(member.subscription_id),
                             "user_id": user_id, "created_at": now, "next_attempt_at": now, "attempts": 0})
    return work


# ---------------------------------------------------------------------------------------------------------
# Sending
# ---------------------------------------------------------------------------------------------------------

def send_due(now=None) -> dict:
    """Send the pushes that are due (in an app context); ``{outcome: count}`` for what was decided."""
    app = current_app._get_current_object()
    config, db = app.config, app.extensions["chat.db"]
    if not webpush.enabled(config):
        return {}
    counts = {}
    while True:
        at = now or utcnow()
        batch = _claim(db, config, at)
        if not batch:
            return counts
        outcomes = _decide_and_send(config, batch, at)
        _record(db, config, outcomes, now or utcnow())
        for outcome, *_ in outcomes:
            counts[outcome] = counts.get(outcome, 0) + 1
        if len(batch) < int(config["PUSH_BATCH_SIZE"]):
            return counts


def _key(row):
    return (str(row.message_id), str(row.subscription_id))


def _claim(db, config, now):
    """Lease up to ``PUSH_BATCH_SIZE`` due rows and read what sending them needs."""
    lease = now + timedelta(seconds=2 * float(config["PUSH_TIMEOUT_SECONDS"]) + 30)
    with db.transaction() as conn:
        due = (sa.select(push_deliveries.c.message_id, push_deliveries.c.subscription_id)
               .where(push_deliveries.c.done_at.is_(None), push_deliveries.c.next_attempt_at <= now)
               .order_by(push_deliveries.c.next_attempt_at).limit(int(config["PUSH_BATCH_SIZE"])))
        if db.is_postgres:
            due = due.with_for_update(skip_locked=True)
        keys = [_key(r) for r in conn.execute(due)]
        if not keys:
            return []
        pair = sa.tuple_(push_deliveries.c.message_id, push_deliveries.c.subscription_id)
        conn.execute(push_deliveries.update().where(pair.in_(keys))
                     .values(next_attempt_at=lease, attempts=push_deliveries.c.attempts + 1))
        sender = users.alias("sender")
        member = memberships.alias("member")
        return conn.execute(
            sa.select(push_deliveries.c.message_id, push_deliveries.c.subscription_id, push_deliveries.c.user_id,
                      push_deliveries.c.attempts, push_deliveries.c.created_at,
                      push_subscriptions.c.user_id.label("owner_id"), push_subscriptions.c.endpoint,
                      push_subscriptions.c.p256dh, push_subscriptions.c.auth,
                      messages.c.conversation_id, messages.c.seq, messages.c.kind, messages.c.body,
                      messages.c.deleted_at, messages.c.created_at.label("sent_at"),
                      conversations.c.kind.label("conversation_kind"), conversations.c.name.label("group_name"),
                      sender.c.display_name.label("sender_name"), member.c.user_id.label("member_id"),
                      member.c.notify)
            .join(push_subscriptions, push_subscriptions.c.id == push_deliveries.c.subscription_id)
            .join(messages, messages.c.id == push_deliveries.c.message_id)
            .join(conversations, conversations.c.id == messages.c.conversation_id)
            .outerjoin(sender, sender.c.id == messages.c.sender_id)
            .outerjoin(member, sa.and_(member.c.conversation_id == messages.c.conversation_id,
                                       member.c.user_id == push_deliveries.c.user_id))
            .where(pair.in_(keys))).all()


def _decide_and_send(config, batch, now):
    """``[(outcome, key, row, detail)]``: skipped, waiting, sent, gone, retry or failed for each row."""
    presence = current_app.extensions["chat.broker"].presence
    people = list({str(r.user_id) for r in batch})
    seen = quietly(presence.last_seen, people, default={}) or {}
    quiet_for = float(config["PUSH_OFFLINE_SECONDS"])
    results = []
    for row in batch:
        key = _key(row)
        if (str(row.owner_id) != str(row.user_id) or row.deleted_at is not None or row.notify == "none"
                or row.member_id is None):
            results.append(("skipped", key, row, "no longer theirs to see"))
            continue
        last = seen.get(str(row.user_id))
        if last is not None:
            last_at = datetime.fromtimestamp(last, UTC)
            if last_at >= row.sent_at:
                results.append(("skipped", key, row, "an event stream showed it"))
                continue
            if (now - last_at).total_seconds() < quiet_for:
                results.append(("waiting", key, row, last_at + timedelta(seconds=quiet_for)))
                continue
        outcome, detail = webpush.send(config, row._mapping, payload(row), topic=key[0].replace("-", ""))
        if outcome == webpush.RETRY and row.attempts >= int(config["PUSH_MAX_ATTEMPTS"]):
            outcome = "failed"
        results.append((outcome, key, row, detail))
    return results


def payload(row) -> dict:
    """The decrypted push of the contract: ``{conversation_id, message_id, seq, title, body, url}``."""
    sender = row.sender_name or "Someone"
    title = f"{sender} in {row.group_name}" if row.conversation_kind == "group" and row.group_name else sender
    text = " ".join((row.body or "").split()) or KIND_TEXT.get(row.kind, "Sent a message")
    if len(text) > MAX_BODY:
        text = text[:MAX_BODY - 1] + "…"
    cid, mid = str(row.conversation_id), str(row.message_id)
    return {"conversation_id": cid, "message_id": mid, "seq": row.seq, "title": title, "body": text,
            "url": message_in_context(cid, row.seq, mid)}


def _record(db, config, outcomes, now):
    retry = float(config["PUSH_RETRY_SECONDS"])
    with db.transaction() as conn:
        for outcome, key, row, detail in outcomes:
            where = push_deliveries.update().where(push_deliveries.c.message_id == key[0],
                                                   push_deliveries.c.subscription_id == key[1])
            if outcome == "waiting":
                conn.execute(where.values(next_attempt_at=detail, attempts=push_deliveries.c.attempts - 1))
            elif outcome == webpush.RETRY:
                delay = retry * 2 ** max(row.attempts - 1, 0)
                log.info("push to %s failed (%s); retrying in %ss", _host(row.endpoint), detail, int(delay))
                conn.execute(where.values(next_attempt_at=now + timedelta(seconds=delay)))
            elif outcome == webpush.GONE:
                log.info("push endpoint at %s is gone (%s): forgotten", _host(row.endpoint), detail)
                conn.execute(push_subscriptions.delete().where(push_subscriptions.c.id == key[1]))
            else:
                if outcome == "failed":
                    log.warning("push to %s given up after %s attempts: %s", _host(row.endpoint), row.attempts,
                                detail)
                conn.execute(where.values(done_at=now, outcome=outcome))
                if outcome == webpush.SENT:
                    conn.execute(push_subscriptions.update().where(push_subscriptions.c.id == key[1])
                                 .values(last_success_at=now))


def _host(endpoint):
    from urllib.parse import urlsplit
    return urlsplit(endpoint).netloc


def prune(now=None):
    """Delete push work finished more than ``PUSH_RETENTION_SECONDS`` ago."""
    db = current_app.extensions["chat.db"]
    cutoff = (now or utcnow()) - timedelta(seconds=int(current_app.config["PUSH_RETENTION_SECONDS"]))
    with db.transaction() as conn:
        conn.execute(push_deliveries.delete().where(push_deliveries.c.done_at.is_not(None),
                                                    push_deliveries.c.done_at < cutoff))

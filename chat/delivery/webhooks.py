"""Outgoing webhooks: each stored event of a conversation, POSTed to its webhooks once, in order, signed.

Enqueue: a relay publish hook writes one ``webhook_deliveries`` row per event per webhook in the batch
that marks the event published, so each event is queued exactly once (a unique key backs that up); the
webhook's maker must still be a member. Send: outside any request, ``deliver_due`` takes a lease on a
webhook (one sender at a time, across processes) and sends its pending rows in ``outbox_id`` order; a
failure holds back the later rows of that webhook until the retry, after ``WEBHOOK_RETRY_BASE_SECONDS``
doubling up to ``WEBHOOK_RETRY_MAX_SECONDS``, for ``WEBHOOK_RETRY_FOR_SECONDS``, after which the row is
abandoned and the next goes. Rows live in the database, so a restart or a receiver's outage loses
nothing. A crash between a receiver's 2xx and its record sends that delivery again, with the same id
(``X-Chat-Delivery``) for the receiver to drop.

Sending runs in a thread of its own in each server process (woken after each batch that queued
something, and by the relay's sweep), never in the relay's own work; ``flask webhooks deliver`` sends
whatever is due from a shell or a worker process.
"""
import logging
import os
import threading
import uuid
from datetime import timedelta

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from ..db import after_commit
from ..read.presenters import iso
from ..schema import memberships, utcnow, webhook_deliveries, webhooks
from . import webhook_post

log = logging.getLogger(__name__)

PER_WEBHOOK_PASS = 200  # deliveries of one webhook in one pass, so that others get their turn
PRUNE_EVERY_SECONDS = 3600
PENDING = (webhook_deliveries.c.delivered_at.is_(None), webhook_deliveries.c.abandoned_at.is_(None))


# The live webhooks of some conversations (their makers still members), for every batch the relay
# publishes: built once.
_HOOKS_OF = (sa.select(webhooks.c.id, webhooks.c.conversation_id)
             .join(memberships, sa.and_(memberships.c.conversation_id == webhooks.c.conversation_id,
                                        memberships.c.user_id == webhooks.c.created_by))
             .where(webhooks.c.conversation_id.in_(sa.bindparam("ids", expanding=True))))


def enqueue(conn, rows, on_commit=None):
    """The relay's publish hook: queue each just-published row for the webhooks of its conversation;
    ``on_commit()`` runs once the batch commits, if anything was queued."""
    ids = sorted({str(r.conversation_id) for r in rows if r.conversation_id is not None})
    if not ids:
        return
    hooks = conn.execute(_HOOKS_OF, {"ids": ids}).all()
    by_conversation = {}
    for hook in hooks:
        by_conversation.setdefault(str(hook.conversation_id), []).append(str(hook.id))
    now = utcnow()
    queued = [{"id": str(uuid.uuid4()), "webhook_id": hook_id, "outbox_id": row.id, "event_type": row.event_type,
               "payload": row.payload, "created_at": row.created_at, "attempts": 0, "next_attempt_at": now}
              for row in rows for hook_id in by_conversation.get(str(row.conversation_id), ())]
    if queued:
        insert = (sa.dialects.postgresql.insert if conn.dialect.name == "postgresql" else sa.dialects.sqlite.insert)
        conn.execute(insert(webhook_deliveries).on_conflict_do_nothing(), queued)
        if on_commit is not None:
            after_commit(conn, on_commit, key="webhooks.wake")


def deliver_due(app) -> int:
    """Send every delivery that is due, webhook by webhook; returns how many were attempted."""
    config, db = app.config, app.extensions["chat.db"]
    now = utcnow()
    with db.transaction() as conn:
        due = conn.execute(sa.select(webhook_deliveries.c.webhook_id).where(*PENDING)
                           .where(webhook_deliveries.c.next_attempt_at <= now).distinct()).scalars().all()
    return sum(_deliver_webhook(db, config, str(webhook_id)) for webhook_id in due)


def _lease_seconds(config):
    return config["WEBHOOK_TIMEOUT_SECONDS"] * (webhook_post.MAX_REDIRECTS + 1) + 5


def _deliver_webhook(db, config, webhook_id):
    """Send this webhook's due deliveries in order while they succeed, holding its lease; returns attempts."""
    if not _lease(db, config, webhook_id, take=True):
        return 0  # another sender has it
    attempts = 0
    try:
        while attempts < PER_WEBHOOK_PASS:
            hook, head = _lease(db, config, webhook_id)
            if head is None:
                return attempts
            body = webhook_post.body_of(str(head.id), head.event_type, str(hook.conversation_id), head.payload,
                                        iso(head.created_at))
            status, error = webhook_post.send(hook.url, hook.secret, str(head.id), body,
                                              timeout=config["WEBHOOK_TIMEOUT_SECONDS"],
                                              production=config["CHAT_ENV"] == "production")
            attempts += 1
            _record(db, config, hook, head, status, error)
            if error is not None:
                return attempts
        return attempts
    finally:
        with db.transaction() as conn:
            conn.execute(webhooks.update().where(webhooks.c.id == webhook_id).values(leased_until=None))


def _lease(db, config, webhook_id, take=False):
    """``take``: True if this sender got the webhook's lease (free or lapsed). Else renew the lease held and
    return ``(webhook, its first pending delivery if due, else None)``."""
    now = utcnow()
    free = sa.or_(webhooks.c.leased_until.is_(None), webhooks.c.leased_until < now) if take else sa.true()
    with db.transaction() as conn:
        renewed = conn.execute(webhooks.update().where(webhooks.c.id == webhook_id, free)
                               .values(leased_until=now + timedelta(seconds=_lease_seconds(config))))
        if take:
            return renewed.rowcount == 1
        hook = conn.execute(sa.select(webhooks).where(webhooks.c.id == webhook_id)).first()
        head = conn.execute(sa.select(webhook_deliveries)
                            .where(webhook_deliveries.c.webhook_id == webhook_id, *PENDING)
                            .order_by(webhook_deliveries.c.outbox_id).limit(1)).first()
    if hook is None or head is None or head.next_attempt_at > now:
        return hook, None
    return hook, head


def _record(db, config, hook, head, status, error):
    """Write how an attempt went, on the delivery and on the webhook."""
    now = utcnow()
    changes = {"attempts": head.attempts + 1, "last_status": status, "last_error": error}
    if error is None:
        changes["delivered_at"] = now
        shown = {"failing_since": None}
    else:
        wait = min(config["WEBHOOK_RETRY_BASE_SECONDS"] * 2 ** head.attempts, config["WEBHOOK_RETRY_MAX_SECONDS"])
        changes["next_attempt_at"] = now + timedelta(seconds=wait)
        if now - head.created_at >= timedelta(seconds=config["WEBHOOK_RETRY_FOR_SECONDS"]):
            changes["abandoned_at"] = now
            log.warning("webhook %s: delivery %s abandoned after %s attempts: %s",
                        hook.id, head.id, head.attempts + 1, error)
        shown = {"failing_since": hook.failing_since or now}
    with db.transaction() as conn:
        conn.execute(webhook_deliveries.update().where(webhook_deliveries.c.id == head.id).values(**changes))
        conn.execute(webhooks.update().where(webhooks.c.id == hook.id)
                     .values(last_delivery_at=now, last_status=status, last_error=error, **shown))


def prune(app):
    """Delete deliveries sent or abandoned more than ``WEBHOOK_RETENTION_SECONDS`` ago."""
    cutoff = utcnow() - timedelta(seconds=app.config["WEBHOOK_RETENTION_SECONDS"])
    with app.extensions["chat.db"].transaction() as conn:
        conn.execute(webhook_deliveries.delete().where(sa.or_(
            webhook_deliveries.c.delivered_at < cutoff, webhook_deliveries.c.abandoned_at < cutoff)))


class Sender:
    """This process's sending thread: started on first use (after fork), woken when there is work."""

    def __init__(self, app, interval):
        self.app, self.interval = app, interval
        self._pid, self._thread, self._event = None, None, threading.Event()
        self._lock = threading.Lock()

    def wake(self):
        with self._lock:
            if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
                self._pid, self._event = os.getpid(), threading.Event()
                self._thread = threading.Thread(target=self._run, name="chat-webhooks", daemon=True)
                self._thread.start()
        self._event.set()

    def _run(self):
        while True:
            self._event.wait(self.interval)
            self._event.clear()
            try:
                deliver_due(self.app)
            except Exception:
                log.exception("sending webhooks failed")


webhooks_cli = AppGroup("webhooks", help="Outgoing webhooks.")


@webhooks_cli.command("deliver")
def deliver_command():
    """Send every webhook delivery that is due now (the servers also do this in the background)."""
    from flask import current_app
    click.echo(f"Attempted {deliver_due(current_app._get_current_object())} delivery(ies).")


def init_app(app, relay):
    """Queue deliveries from ``relay``'s batches, send them from a thread of each process, prune old rows."""
    from . import every
    app.cli.add_command(webhooks_cli)
    background = app.config["WEBHOOK_SEND_IN_BACKGROUND"] and not relay.sync
    sender = Sender(app, max(float(app.config["RELAY_INTERVAL"]), 0.2)) if background else None

    relay.publish_hooks.append(lambda conn, rows: enqueue(conn, rows, sender.wake if sender else None))
    if sender is not None:
        relay.sweep_hooks.append(every(max(float(app.config["RELAY_INTERVAL"]), 1.0), sender.wake))
    relay.upkeep_hooks.append(every(PRUNE_EVERY_SECONDS, lambda: prune(app)))

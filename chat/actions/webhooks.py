"""Outgoing webhooks: register, list and delete the URLs a conversation's events are POSTed to.

Owners and admins of a group manage its webhooks; either member manages a direct conversation's. The
secret that signs deliveries is shown once, in the answer to the registration. Deliveries themselves are
made outside any request (``chat.delivery.webhooks``).
"""
import secrets

import sqlalchemy as sa
from flask import current_app

from .. import netguard
from ..db import transaction
from ..errors import Forbidden, Invalid, NotFound
from ..read.presenters import iso
from ..schema import utcnow, webhooks
from . import access, validate

MAX_PER_CONVERSATION = 10
LISTED = (webhooks.c.id, webhooks.c.url, webhooks.c.created_at, webhooks.c.created_by, webhooks.c.last_delivery_at,
          webhooks.c.last_status, webhooks.c.last_error, webhooks.c.failing_since)


def check_url(url, field="url") -> str:
    """A URL deliveries may go to (in production: resolving to public addresses only); else 422 on ``field``."""
    validate.clean_str(url, field)
    try:
        if current_app.config["CHAT_ENV"] == "production":
            netguard.resolve(url, production=True)
        else:
            netguard.parse(url)
    except netguard.UnsafeURL as error:
        raise Invalid(str(error), field=field) from None
    return url.strip()


def register(actor_id: str, conversation_id: str, url) -> dict:
    """Register ``url`` for the conversation; ``{id, url, secret, created_at}`` (the only time ``secret`` is shown)."""
    url = check_url(url)
    row = {"id": validate.new_id(), "url": url, "secret": "whsec_" + secrets.token_urlsafe(32),
           "created_at": utcnow(), "created_by": actor_id}
    with transaction(actor_id) as conn:
        member = access.membership(conn, actor_id, conversation_id, lock=True)
        require_webhook_manager(member)
        count = conn.execute(sa.select(sa.func.count()).select_from(webhooks)
                             .where(webhooks.c.conversation_id == member.id)).scalar()
        if count >= MAX_PER_CONVERSATION:
            raise Invalid(f"A conversation can have at most {MAX_PER_CONVERSATION} webhooks.", field="url")
        conn.execute(webhooks.insert().values(conversation_id=member.id, **row))
    return {"id": row["id"], "url": url, "secret": row["secret"], "created_at": iso(row["created_at"])}


def list_for(actor_id: str, conversation_id: str) -> list[dict]:
    """The conversation's webhooks with how their deliveries go, oldest first (never their secrets)."""
    with transaction(actor_id) as conn:
        member = access.membership(conn, actor_id, conversation_id)
        require_webhook_manager(member)
        rows = conn.execute(sa.select(*LISTED).where(webhooks.c.conversation_id == member.id)
                            .order_by(webhooks.c.created_at, webhooks.c.id)).all()
    return [webhook_dict(r) for r in rows]


def delete(actor_id: str, webhook_id: str) -> None:
    """Delete a webhook and its pending deliveries: 404 unless in your conversations, 403 unless you manage it."""
    webhook_id = validate.path_id(webhook_id, "webhook")
    with transaction() as conn:  # which conversation; whether the actor may know of it is checked next
        conversation_id = conn.execute(sa.select(webhooks.c.conversation_id)
                                       .where(webhooks.c.id == webhook_id)).scalar()
    if conversation_id is None:
        raise NotFound("No such webhook.")
    with transaction(actor_id) as conn:
        try:
            member = access.membership(conn, actor_id, str(conversation_id))
        except NotFound:
            raise NotFound("No such webhook.") from None
        require_webhook_manager(member)
        conn.execute(webhooks.delete().where(webhooks.c.id == webhook_id))


def require_webhook_manager(member) -> None:
    """403 unless the member is an owner or admin of a group, or in a direct conversation."""
    if member.kind != "direct" and member.role not in access.MANAGER_ROLES:
        raise Forbidden("Only the group's owner or an admin can manage its webhooks.")


def webhook_dict(row) -> dict:
    return {"id": str(row.id), "url": row.url, "created_at": iso(row.created_at),
            "created_by": str(row.created_by), "last_delivery_at": iso(row.last_delivery_at),
            "last_status": row.last_status, "last_error": row.last_error, "failing_since": iso(row.failing_since)}

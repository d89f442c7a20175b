"""Incoming webhooks: a secret URL (``/hooks/<secret>``) through which another system posts into one
conversation, as the member who made it. Only the secret's SHA-256 is stored; deleting the hook, or its
maker leaving the conversation, stops the URL working.
"""
import hashlib
import secrets

import sqlalchemy as sa

from ..db import transaction
from ..errors import NotFound
from ..read.presenters import iso
from ..schema import incoming_webhooks, utcnow
from ..types import Message
from . import access, messages, validate

MAX_SECRET = 200


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(actor_id: str, conversation_id: str, url_for_secret) -> dict:
    """A new hook for a conversation ``actor_id`` is a member of; ``{id, url, created_at}`` (the URL shown once)."""
    secret = secrets.token_urlsafe(32)
    hook_id, now = validate.new_id(), utcnow()
    with transaction(actor_id) as conn:
        member = access.membership(conn, actor_id, conversation_id)
        conn.execute(incoming_webhooks.insert().values(id=hook_id, conversation_id=member.id, created_by=actor_id,
                                                       secret_hash=_hash(secret), created_at=now))
    return {"id": hook_id, "url": url_for_secret(secret), "conversation_id": str(member.id), "created_at": iso(now)}


def delete(actor_id: str, hook_id: str) -> None:
    """Delete one of your hooks (404 for anyone else's); its URL then answers 404."""
    hook_id = validate.path_id(hook_id, "incoming webhook")
    with transaction(actor_id) as conn:
        deleted = conn.execute(incoming_webhooks.delete().where(incoming_webhooks.c.id == hook_id,
                                                                incoming_webhooks.c.created_by == actor_id))
    if deleted.rowcount == 0:
        raise NotFound("No such incoming webhook.")


def post(secret: str, body) -> Message:
    """Send ``body`` through the hook whose secret this is, as its maker, marked ``metadata.via: "webhook"``.

    404 for an unknown secret, or once the maker has left the conversation.
    """
    if not isinstance(secret, str) or not 0 < len(secret) <= MAX_SECRET or validate.has_bad_chars(secret):
        raise NotFound("No such webhook.")
    with transaction() as conn:  # the secret is the credential: look it up as the server
        hook = conn.execute(sa.select(incoming_webhooks.c.conversation_id, incoming_webhooks.c.created_by)
                            .where(incoming_webhooks.c.secret_hash == _hash(secret))).first()
    if hook is None:
        raise NotFound("No such webhook.")
    body = validate.body(body)
    try:
        message, _ = messages.send_message(str(hook.created_by), str(hook.conversation_id), body,
                                           metadata={"via": "webhook"})
    except NotFound:
        raise NotFound("No such webhook.") from None
    return message

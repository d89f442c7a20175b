"""Web Push subscriptions: a browser's PushSubscription, kept for the person signed in on it.

An endpoint is one browser. Subscribing an endpoint makes it the caller's: the same person again updates
its keys (``created`` False: 200), and an endpoint someone else had subscribed (the browser changed hands)
is taken over (``created`` True: 201), so the earlier owner's pushes stop reaching a browser they left.
Unsubscribing removes only the caller's own row: another person's endpoint is left alone, and the answer
is the same 204 either way (nobody learns whose endpoint it is). The pushes themselves are sent by
``chat.delivery.push``; ``send_test`` is the one push sent inside a request (the settings page's button,
whose whole point is to answer "did it arrive?").
"""
import sqlalchemy as sa
from flask import current_app

from .. import webpush
from ..db import get_db, transaction
from ..errors import Conflict, Invalid, NotFound
from ..schema import push_subscriptions, utcnow
from . import validate

TEST_PAYLOAD = {"conversation_id": None, "message_id": None, "seq": None, "title": "Chat",
                "body": "Notifications work on this device.", "url": "/settings/account"}


def require_enabled():
    if not webpush.enabled(current_app.config):
        raise NotFound("Web Push is not set up on this server.", code="push_disabled")


def public_key() -> str:
    require_enabled()
    return current_app.config["VAPID_PUBLIC_KEY"]


def _production():
    return current_app.config.get("CHAT_ENV") == "production"


def check_subscription(endpoint, keys) -> tuple[str, str, str]:
    """``(endpoint, p256dh, auth)`` of a browser PushSubscription, or Invalid naming the field."""
    validate.clean_str(endpoint, "endpoint")
    problem = webpush.endpoint_problem(endpoint, _production())
    if problem:
        raise Invalid(problem, field="endpoint")
    key_error = webpush.key_problem(keys)
    if key_error:
        raise Invalid(key_error[1], field=key_error[0])
    return endpoint, keys["p256dh"].strip(), keys["auth"].strip()


def subscribe(actor_id: str, endpoint, keys) -> tuple[dict, bool]:
    """Keep ``endpoint`` as the caller's; ``(subscription, created)``."""
    require_enabled()
    endpoint, p256dh, auth = check_subscription(endpoint, keys)
    with transaction(actor_id) as conn:
        own = conn.execute(sa.select(push_subscriptions).where(push_subscriptions.c.endpoint == endpoint,
                                                               push_subscriptions.c.user_id == actor_id)).first()
        if own is not None:
            conn.execute(push_subscriptions.update().where(push_subscriptions.c.id == own.id)
                         .values(p256dh=p256dh, auth=auth))
            return _subscription(own.id, endpoint, own.created_at), False
        _release(conn, actor_id, endpoint)
        new_id, now = validate.new_id(), utcnow()
        try:
            with conn.begin_nested():
                conn.execute(push_subscriptions.insert().values(id=new_id, user_id=actor_id, endpoint=endpoint,
                                                                p256dh=p256dh, auth=auth, created_at=now))
        except sa.exc.IntegrityError:
            raise Conflict("This browser was being subscribed at the same moment; try again.") from None
        return _subscription(new_id, endpoint, now), True


def _release(conn, actor_id, endpoint):
    """Remove another person's row for ``endpoint`` (their browser is now the caller's)."""
    if get_db().is_postgres:  # the row is invisible to the caller under RLS: a SECURITY DEFINER function
        conn.execute(sa.text("select public.release_push_endpoint(:endpoint)"), {"endpoint": endpoint})
    else:
        conn.execute(push_subscriptions.delete().where(push_subscriptions.c.endpoint == endpoint,
                                                       push_subscriptions.c.user_id != actor_id))


def unsubscribe(actor_id: str, endpoint) -> bool:
    """Forget the caller's subscription of ``endpoint``; True if there was one. Others' rows stay."""
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > webpush.MAX_ENDPOINT:
        raise Invalid("The endpoint must be a push service URL.", field="endpoint")
    validate.clean_str(endpoint, "endpoint")
    with transaction(actor_id) as conn:
        return bool(conn.execute(push_subscriptions.delete().where(
            push_subscriptions.c.endpoint == endpoint, push_subscriptions.c.user_id == actor_id)).rowcount)


def device_count(actor_id: str) -> int:
    with transaction(actor_id) as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(push_subscriptions)
                            .where(push_subscriptions.c.user_id == actor_id)).scalar_one()


def send_test(actor_id: str) -> dict:
    """Push a test notification to each of the caller's browsers now: ``{"sent": n, "gone": n, "failed": n}``.

    An endpoint the push service no longer knows (404/410) is forgotten.
    """
    require_enabled()
    with transaction(actor_id) as conn:
        subscriptions = conn.execute(sa.select(push_subscriptions)
                                     .where(push_subscriptions.c.user_id == actor_id)).all()
    if not subscriptions:
        raise Invalid("Turn notifications on in this browser first: no device of yours is subscribed.",
                      field="endpoint")
    counts = {"sent": 0, "gone": 0, "failed": 0}
    gone = []
    for row in subscriptions:
        outcome, _detail = webpush.send(current_app.config, row._mapping, TEST_PAYLOAD, topic="test")
        if outcome == webpush.GONE:
            gone.append(row.id)
        counts[{webpush.SENT: "sent", webpush.GONE: "gone"}.get(outcome, "failed")] += 1
    if gone:
        with transaction(actor_id) as conn:
            conn.execute(push_subscriptions.delete().where(push_subscriptions.c.id.in_(gone),
                                                           push_subscriptions.c.user_id == actor_id))
    return counts


def _subscription(subscription_id, endpoint, created_at):
    return {"id": str(subscription_id), "endpoint": endpoint, "created_at": created_at.isoformat()}

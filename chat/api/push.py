"""Web Push: the application server key and this browser's subscription (shared/API.md, "Web Push")."""
from flask import jsonify

from ..actions import push
from ..security import per_user
from . import bp
from .helpers import json_body, me, signed_in


@bp.get("/push/key")
@signed_in
def push_key():
    return jsonify({"public_key": push.public_key()})


@bp.post("/push/subscriptions")
@signed_in
@per_user("RATE_LIMIT_PUSH")
def push_subscribe():
    data = json_body()
    subscription, created = push.subscribe(me(), data.get("endpoint"), data.get("keys"))
    return jsonify(subscription), 201 if created else 200


@bp.delete("/push/subscriptions")
@signed_in
@per_user("RATE_LIMIT_PUSH")
def push_unsubscribe():
    push.unsubscribe(me(), json_body().get("endpoint"))
    return "", 204

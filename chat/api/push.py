"""Web Push: the application server key and this browser's subscription (shared/API.md, "Web Push")."""
from flask import jsonify

from ..actions import push
from ..security import per_user
from . import bp
from .helpers import json_body, me, signed_in
from .openapi import PATHS, _body, _obj, _ok, _op, _str, _time

_endpoint = {"type": "string", "minLength": 1, "maxLength": 2000,
             "description": "The PushSubscription's endpoint: https:// (in development also http://127.0.0.1:*)"}
_subscription = _obj(id=_str, endpoint=_str, created_at=_time)
PATHS["/api/v1/push/key"] = {"get": _op(
    "The VAPID application server key (base64url, 65 bytes uncompressed); 404 push_disabled without keys",
    _ok(200, _obj(public_key=_str)))}
PATHS["/api/v1/push/subscriptions"] = {
    "post": _op("Subscribe this browser (201; the same endpoint again 200; another person's endpoint becomes yours)",
                {**_ok(201, _subscription), **_ok(200, _subscription)},
                body=_body(["endpoint", "keys"], endpoint=_endpoint, keys={
                    "type": "object", "required": ["p256dh", "auth"], "properties": {
                        "p256dh": {"type": "string", "description": "P-256 public key, 65 bytes, base64url"},
                        "auth": {"type": "string", "description": "16-byte secret, base64url"}}})),
    "delete": _op("Unsubscribe a browser of yours (204; someone else's endpoint is left alone, also 204)",
                  _ok(204), body=_body(["endpoint"], endpoint=_endpoint))}


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

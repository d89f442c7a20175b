"""The installable app and Web Push on the web side: the manifest, the service worker, and this browser's
subscription from the settings page (JSON posts with the CSRF token, by static/js/push.js), plus the
"Send a test notification" button, a plain form."""
import os

from flask import current_app, jsonify, redirect, request, send_from_directory, url_for
from flask_login import current_user

from ..actions import push
from ..errors import ActionError
from ..security import per_user
from . import bp
from .helpers import signed_in

THEME = "#4f46e5"


@bp.get("/manifest.webmanifest")
def manifest():
    icon = "/static/img/{}".format
    response = jsonify({
        "name": "Chat", "short_name": "Chat", "description": "Real-time chat.",
        "id": "/", "start_url": "/", "scope": "/", "display": "standalone",
        "background_color": "#ffffff", "theme_color": THEME,
        "icons": [{"src": icon("icon-192.png"), "sizes": "192x192", "type": "image/png"},
                  {"src": icon("icon-512.png"), "sizes": "512x512", "type": "image/png"},
                  {"src": icon("icon-maskable-512.png"), "sizes": "512x512", "type": "image/png",
                   "purpose": "maskable"}],
    })
    response.mimetype = "application/manifest+json"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/service-worker.js")
def service_worker():
    """Served from the root so that its scope is the whole app; never cached (updates reach browsers)."""
    response = send_from_directory(os.path.abspath(current_app.static_folder), "service-worker.js",
                                   mimetype="text/javascript", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


def _body():
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


@bp.post("/settings/push/subscribe")
@signed_in
@per_user("RATE_LIMIT_PUSH")
def push_subscribe():
    data = _body()
    try:
        subscription, created = push.subscribe(current_user.id, data.get("endpoint"), data.get("keys"))
    except ActionError as error:
        return jsonify(error.to_dict()), error.status
    return jsonify(subscription), 201 if created else 200


@bp.post("/settings/push/unsubscribe")
@signed_in
@per_user("RATE_LIMIT_PUSH")
def push_unsubscribe():
    try:
        push.unsubscribe(current_user.id, _body().get("endpoint"))
    except ActionError as error:
        return jsonify(error.to_dict()), error.status
    return "", 204


@bp.post("/settings/push/test")
@signed_in
@per_user("RATE_LIMIT_PUSH")
def push_test():
    try:
        counts = push.send_test(current_user.id)
    except ActionError as error:
        return redirect(url_for("web.account", done="push-none", _anchor="push-title") if error.status == 422
                        else url_for("web.account", done="push-off", _anchor="push-title"), code=303)
    return redirect(url_for("web.account", done="push-test", sent=counts["sent"],
                            failed=counts["failed"] + counts["gone"], _anchor="push-title"), code=303)


def push_settings(user_id):
    """What the settings page's "Notifications on this device" section shows."""
    enabled = bool(current_app.config.get("VAPID_PUBLIC_KEY"))
    return {"enabled": enabled, "key": current_app.config.get("VAPID_PUBLIC_KEY") or "",
            "devices": push.device_count(user_id) if enabled else 0,
            "sent": request.args.get("sent", type=int), "failed": request.args.get("failed", type=int)}

"""``GET /events``: the page's one live stream (session auth), rendered for htmx by ``live.py``."""
from flask import Response, request
from flask_login import current_user

from . import bp
from .live import renderer_for

SESSION_EXPIRED = "retry: 600000\nevent: session-expired\ndata: {}\n\n"


@bp.get("/events")
def events():
    """The signed-in person's events; a lost session gets an event asking the page to reload, not a redirect
    (EventSource would follow a redirect to the sign-in page and retry it forever)."""
    if not current_user.is_authenticated:
        return Response(SESSION_EXPIRED, mimetype="text/event-stream", headers={"Cache-Control": "no-cache"})
    stream = _delivery_sse_response()
    if stream is None:
        return "", 204  # live delivery is not installed: pages still work, without live updates
    last_event_id = request.headers.get("Last-Event-ID") or request.args.get("last_event_id") or None
    return stream(current_user.id, last_event_id, renderer_for(current_user.id))


def _delivery_sse_response():
    try:
        from ..delivery.stream import sse_response
    except ImportError:
        return None
    return sse_response

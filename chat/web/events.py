"""``GET /events``: the page's one live stream (session auth), rendered for htmx by ``live.py``."""
from inspect import signature

from flask import Response, request
from flask_login import current_user

from ..auth import stream_alive
from ..delivery.stream import sse_response
from ..security import per_user
from . import bp
from .live import renderer_for

SESSION_EXPIRED = "retry: 600000\nevent: session-expired\ndata: {}\n\n"


@bp.get("/events")
@per_user("RATE_LIMIT_STREAMS")
def events():
    """The signed-in person's events as HTML fragments and small JSON; resumes after ``Last-Event-ID``
    (the browser's own reconnects) or ``?last_event_id=`` (htmx-ext-sse's, see static/js/live.js).

    A lost session gets an event asking the page to reload, not a redirect: EventSource would follow a
    redirect to the sign-in page and retry it forever.
    """
    if not current_user.is_authenticated:
        return Response(SESSION_EXPIRED, mimetype="text/event-stream", headers={"Cache-Control": "no-cache"})
    last_event_id = request.headers.get("Last-Event-ID") or request.args.get("last_event_id") or None
    # S2: the stream ends (``session-expired``) once the session that opened it is revoked.
    kwargs = {"alive": stream_alive(current_user)} if "alive" in signature(sse_response).parameters else {}
    return sse_response(current_user.id, last_event_id, renderer_for(current_user.id), **kwargs)

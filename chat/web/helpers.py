"""What every web route shares: sign-in checks that speak htmx, full page or fragment, safe redirects."""
from functools import wraps
from urllib.parse import urlsplit

from flask import current_app, make_response, redirect, render_template, request, url_for
from flask_login import current_user


def is_htmx():
    """True for requests htmx made (they want a fragment, not a page)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def signed_in(view):
    """Send signed-out people to /login; an htmx request gets ``HX-Redirect`` instead of a 302."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return to_login()
        return view(*args, **kwargs)
    return wrapper


def to_login():
    target = url_for("web.login", next=safe_next(request.full_path.rstrip("?")))
    if is_htmx():
        response = make_response("", 401)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def safe_next(value, default="/"):
    """A local path to return to after signing in; anything pointing elsewhere becomes ``default``."""
    if not value or not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        return default
    if any(ord(ch) < 33 or ch == "\\" for ch in value):
        return default  # browsers drop tabs and newlines and read "\\" as "/": "/\t/evil" is "//evil"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def redirect_or_fragment(location, fragment=None, **context):
    """After a write: htmx gets ``fragment`` (or an ``HX-Redirect``), a plain form a 303 to ``location``."""
    if not is_htmx():
        return redirect(location, code=303)
    if fragment is None:
        response = make_response("", 204)
        response.headers["HX-Redirect"] = location
        return response
    return render_template(fragment, **context)


def dom_id(kind, object_id):
    """The one place DOM ids are made: ``message-<id>``, ``conversation-<id>``…"""
    return f"{kind}-{object_id}"


def bind_paths(app):
    """Bind the app's URL map once, to no host and to the app's root, for ``path_for``."""
    app.extensions["chat.web.paths"] = app.url_map.bind("", script_name=app.config.get("APPLICATION_ROOT") or "/")


AROUND = 25  # messages shown after one opened in context, so that it sits mid-page


def message_in_context(conversation_id, seq, message_id):
    """The path that opens a conversation's history at message ``seq``, highlighted (search, quotes).

    A page of history ends just after the message (``?before=``), so thousands of messages back work the
    same as the latest page; the anchor highlights it.
    """
    page = path_for("web.conversation", conversation_id=conversation_id)
    return f"{page}?before={seq + AROUND + 1}#{dom_id('message', message_id)}"


def path_for(endpoint, **values):
    """The path of ``endpoint`` (``/c/<id>/m/3/edit``): the same in a request, in the event stream, anywhere.

    Fragments that the stream renders (a message, a list row, a chat header) run in an app context without
    a request, where ``url_for`` would need ``SERVER_NAME``. Their links are paths from one adapter bound
    once per app to the app's root (``APPLICATION_ROOT``), never absolute URLs, so a fragment is
    byte-identical whichever of the page, the POST response or the stream rendered it.
    """
    return current_app.extensions["chat.web.paths"].build(endpoint, values)

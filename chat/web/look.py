"""The look: the theme choice (System, Light, Dark; a cookie, so it works before sign-in and without
JavaScript), the one "New chat" page that finds people as you type, and the people picker that group forms
use to add members by name instead of exact usernames."""
from flask import redirect, render_template, request, url_for
from flask_login import current_user

from ..actions import users
from ..security import per_user, without_query
from . import bp
from .helpers import is_htmx, safe_next, signed_in

THEMES = {"system": "System", "light": "Light", "dark": "Dark"}
THEME_COOKIE = "theme"
_YEAR = 365 * 24 * 3600


def current_theme():
    """The viewer's chosen theme: "system" (follow the device), "light" or "dark"."""
    value = request.cookies.get(THEME_COOKIE, "system")
    return value if value in THEMES else "system"


@bp.app_context_processor
def _look_helpers():
    return {"current_theme": current_theme, "themes": THEMES}


@bp.route("/settings/appearance", methods=["GET", "POST"])
@signed_in
def appearance():
    if request.method == "GET":
        return render_template("settings/appearance.html", error=None)
    choice = request.form.get("theme", "")
    if choice not in THEMES:
        return render_template("settings/appearance.html",
                               error="Choose System, Light or Dark, then press Save."), 422
    back = safe_next(request.form.get("next"), url_for("web.appearance", saved="1"))
    response = redirect(back, code=303)
    if choice == "system":
        response.delete_cookie(THEME_COOKIE)
    else:
        response.set_cookie(THEME_COOKIE, choice, max_age=_YEAR, samesite="Lax", httponly=True,
                            secure=request.is_secure)
    return response


@bp.get("/new")
@signed_in
@per_user("RATE_LIMIT_SEARCH", exempt_when=without_query)
def new_chat():
    """Start a chat: find someone as you type (a plain GET form without JavaScript), or make a group."""
    q = request.args.get("q", "")[:100]
    found = users.search_users(current_user.id, q, limit=30)
    found = [p for p in found if p["id"] != current_user.id]
    if is_htmx() and request.headers.get("HX-Target") == "new-chat-results":
        return render_template("look/_new_chat_results.html", people=found, q=q)
    return render_template("look/new_chat.html", people=found, q=q)


@bp.get("/people/pick")
@signed_in
@per_user("RATE_LIMIT_SEARCH", exempt_when=without_query)
def pick_people():
    """Suggestions for a group's member picker: people whose name or username matches ``q``."""
    q = (request.args.get("q") or request.args.get("username") or "")[:100]  # the add form's field is "username"
    mode = "add" if request.args.get("mode") == "add" else "pick"
    found = users.search_users(current_user.id, q, limit=8) if q.strip() else []
    found = [p for p in found if p["id"] != current_user.id]
    return render_template("look/_picks.html", people=found, q=q, mode=mode)

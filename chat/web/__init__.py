"""The HTML UI (Flask + Jinja + HTMX): thin routes that parse, call one action and render."""
from flask import Blueprint

bp = Blueprint("web", __name__)


def init_app(app):
    """Register the web pages and their template helpers (``chat.errors`` registers the error pages)."""
    from . import (  # noqa: F401  (routes)
        accounts,
        chat,
        events,
        filters,
        groups,
        keeping_up,
        look,
        messages,
        page,
        people,
        profile,
        push,
        search,
        webhooks,
    )
    app.register_blueprint(bp)
    filters.init_app(app)
    page.init_app(app)

"""The JSON API v1 (shared/API.md): thin routes over the action layer (errors: ``chat.errors``)."""
from flask import Blueprint

from ..errors import error_response  # noqa: F401  (routes answer errors with it)

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def init_app(app):
    from . import (  # noqa: F401  (routes)
        attachments,
        auth,
        conversations,
        events,
        health,
        integrations,
        live,
        messages,
        openapi,
        push,
        search,
        users,
    )
    app.register_blueprint(bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(integrations.hooks_bp)

"""The JSON API v1 (shared/API.md): thin routes over the action layer (errors: ``chat.errors``)."""
from flask import Blueprint

from ..errors import error_response  # noqa: F401  (routes answer errors with it)

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def init_app(app):
    from . import attachments, auth, conversations, events, health, live, messages, openapi, push, search, users  # noqa: F401  (routes)
    app.register_blueprint(bp)
    app.register_blueprint(health.bp)

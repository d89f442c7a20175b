"""HTML error pages: a refusal says what happened and what to do, as a page or as an htmx fragment."""
from flask import render_template
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from ..errors import Unauthorized
from .helpers import is_htmx, to_login


def html_error(error):
    """Render an ``ActionError`` or ``CSRFError`` raised on a non-API path."""
    if isinstance(error, CSRFError):
        status, message = 400, "This form has expired. Reload the page and try again."
    else:
        status, message = error.status, error.message
    if isinstance(error, Unauthorized) and not current_user.is_authenticated:
        return to_login()
    if is_htmx():
        return render_template("errors/_error.html", message=message, status=status), status
    return render_template("errors/error.html", message=message, status=status), status


def init_app(app):
    app.extensions["chat.html_error_handler"] = html_error

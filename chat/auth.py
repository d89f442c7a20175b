"""Who is asking: flask-login sessions for the browser, bearer tokens for the API."""
from flask import g, request
from flask_login import LoginManager, UserMixin

from .actions import accounts

login_manager = LoginManager()
login_manager.login_view = "web.login"
login_manager.login_message = None


class User(UserMixin):
    """The signed-in person; ``data`` is their user dict (with email)."""

    def __init__(self, data):
        self.data = data
        self.id = data["id"]

    def __getattr__(self, name):
        try:
            return self.__dict__["data"][name]
        except KeyError:
            raise AttributeError(name) from None


@login_manager.user_loader
def load_user(user_id):
    if bearer_token() is not None:
        return None  # a request that names a token is authenticated by that token alone
    data = accounts.get_me(user_id)
    return User(data) if data else None


@login_manager.request_loader
def load_user_from_bearer(req):
    token = bearer_token(req)
    if token is None:
        return None
    data = accounts.user_for_token(token)
    if data is None:
        return None
    g.auth_via_bearer = True
    return User(data)


def bearer_token(req=None):
    """The token of an ``Authorization: Bearer …`` header, or None. Never read from the URL."""
    header = (req or request).headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def init_app(app):
    login_manager.init_app(app)

"""Who is asking: server-side sessions for the browser, bearer tokens for the API.

flask-login's identity (``User.get_id``, kept in the session cookie and in the remember-me cookie) is the
random secret of a ``sessions`` row, never the user id: ``load_user`` accepts it only while that row is live
(one query joining the user), so signing out, "sign out everywhere" and a password change end every copy
of the cookie. ``stream_alive`` gives event streams the same check, and ``announce_revocation`` tells the
user's open streams to look again at once.
"""
import time

from flask import current_app, g, request
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from . import credential_watch, events, supabase_auth
from .actions import accounts, sessions

login_manager = LoginManager()
login_manager.login_view = "web.login"
login_manager.login_message = None


class User(UserMixin):
    """The signed-in person; ``data`` is their user dict (with email).

    ``session_secret``/``session_id`` name the browser session, ``token_id`` the bearer token that
    authenticated this request (one of the two); ``token_expires`` (epoch seconds) marks a Supabase
    access token instead, live until it expires.
    """

    def __init__(self, data, session_secret=None, session_id=None, token_id=None, token_expires=None):
        self.data = data
        self.id = data["id"]
        self.session_secret, self.session_id, self.token_id = session_secret, session_id, token_id
        self.token_expires = token_expires

    def get_id(self):
        return self.session_secret

    def __getattr__(self, name):
        try:
            return self.__dict__["data"][name]
        except KeyError:
            raise AttributeError(name) from None


@login_manager.user_loader
def load_user(secret):
    if bearer_token() is not None:
        return None  # a request that names a token is authenticated by that token alone
    found = sessions.user_for_secret(secret)
    if found is None:
        return None
    data, session_id = found
    return User(data, session_secret=secret, session_id=session_id)


@login_manager.request_loader
def load_user_from_bearer(req):
    token = bearer_token(req)
    if token is None:
        return None
    found = accounts.token_credential(token)
    if found is None:
        supabase = supabase_auth.user_for_token(token)  # None unless SUPABASE_URL is set
        if supabase is None:
            return None
        g.auth_via_bearer = True
        data, claims = supabase
        return User(data, token_expires=claims["exp"])
    g.auth_via_bearer = True
    data, token_id = found
    return User(data, token_id=token_id)


def bearer_token(req=None):
    """The token of an ``Authorization: Bearer …`` header, or None. Never read from the URL."""
    header = (req or request).headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def sign_in(user, remember=False):
    """Start a server-side session for ``user`` (a user dict) and sign this browser in with it.

    A session this browser already had ends: its cookie is about to be replaced, so nothing could use
    it again, and it should not linger in the account page's list.
    """
    if current_user.is_authenticated and current_user.session_id:
        sessions.revoke(current_user.session_id)
    secret = sessions.create(user["id"], request.headers.get("User-Agent", ""))
    login_user(User(user, session_secret=secret), remember=remember)


def sign_out(user):
    """End the credential ``user`` (the current one) signed in with, and close its open streams."""
    user_id, token_id, session_id = user.id, user.token_id, user.session_id  # before logout_user()
    if token_id:
        sessions.revoke_token(token_id)
    if session_id:
        sessions.revoke(session_id)
        logout_user()
    announce_revocation(user_id)


def stream_alive(user):
    """What an event stream asks to learn whether the credential that opened it is still live.

    Calling it asks the database now (one indexed lookup; after a ``session`` event, or in a test);
    ``.heartbeat()`` answers from this process's batched check (``credential_watch``), at most a third of a
    heartbeat old. Either pushes its own app context, since a stream outlives its request.
    """
    return StreamCredential(current_app._get_current_object(), user)


class StreamCredential:
    __slots__ = ("app", "credential", "expires", "kind")

    def __init__(self, app, user):
        self.app = app
        self.expires = user.token_expires  # read now: ``user`` may be the request's proxy
        self.kind, self.credential = ("api_tokens", user.token_id) if user.token_id else ("sessions", user.session_id)

    def __call__(self):
        if self.expires is not None:
            return time.time() < self.expires
        if self.credential is None:
            return False
        check = sessions.token_is_live if self.kind == "api_tokens" else sessions.is_live
        with self.app.app_context():
            return check(self.credential)

    def heartbeat(self):
        if self.expires is not None or self.credential is None:
            return self()
        with self.app.app_context():
            return credential_watch.watch(self.app).live(self.kind, self.credential)


def announce_revocation(user_id):
    """Tell ``user_id``'s open streams that a credential ended, so they check ``alive`` now.

    Best effort: a stream that misses it still ends at its next heartbeat.
    """
    events.send_live([user_id], "session", {"reason": "revoked"})


def init_app(app):
    login_manager.init_app(app)

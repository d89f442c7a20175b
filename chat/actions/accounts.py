"""Accounts: sign up, sign in, passwords, API tokens, profiles."""
import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from .. import passwords
from ..db import transaction
from ..errors import Conflict, Unauthorized
from ..read.presenters import USER_COLUMNS, user_dict
from ..schema import accounts, api_tokens, users, utcnow
from ..types import Me
from . import sessions, validate
from . import users as users_actions


def sign_up(email: str, username: str, password: str, display_name: str | None = None) -> Me:
    """Create an account; return the new user. 409 names the field already taken."""
    email = validate.email(email)
    username = validate.username(username)
    password = validate.password(password)
    display_name = validate.optional_text(display_name, "display_name", 80) or username
    password_hash = passwords.hash_password(password)
    user_id, now = validate.new_id(), utcnow()
    with transaction() as conn:
        taken = conn.execute(sa.select(users.c.id).where(users.c.username == username)).first()
        if taken:
            raise Conflict("That username is taken.", field="username", code="username_taken")
        taken = conn.execute(sa.select(accounts.c.user_id).where(accounts.c.email == email)).first()
        if taken:
            raise Conflict("An account with that email already exists.", field="email", code="email_taken")
        conn.execute(users.insert().values(id=user_id, username=username, display_name=display_name,
                                           bio="", created_at=now))
        conn.execute(accounts.insert().values(user_id=user_id, email=email, password_hash=password_hash,
                                              created_at=now))
    return get_me(user_id)


def authenticate(login: str, password: str) -> Me:
    """The user whose email or username is ``login`` and whose password matches, else 401."""
    login = validate.clean_str((login or "").strip().lower() if isinstance(login, str) else "", "login")
    password = validate.clean_str(password if isinstance(password, str) else "", "password")
    with transaction() as conn:
        row = conn.execute(
            sa.select(accounts.c.user_id, accounts.c.password_hash)
            .select_from(accounts.join(users, users.c.id == accounts.c.user_id))
            .where(sa.or_(accounts.c.email == login, users.c.username == login))
        ).first()
    if row is None:
        passwords.dummy_check(password)
        raise Unauthorized("Wrong email/username or password.", code="invalid_credentials")
    if not passwords.check_password(row.password_hash, password):
        raise Unauthorized("Wrong email/username or password.", code="invalid_credentials")
    return get_me(str(row.user_id))


def get_me(user_id: str) -> Me | None:
    """The user with their private email, as ``GET /api/v1/me`` shows it."""
    with transaction() as conn:
        row = conn.execute(
            sa.select(*USER_COLUMNS, accounts.c.email)
            .select_from(users.join(accounts, accounts.c.user_id == users.c.id))
            .where(users.c.id == user_id)
        ).first()
    if row is None:
        return None
    return {**user_dict(row), "email": row.email}


UNCHANGED = object()  # avatar_url not given (None/"" clears it)


def profile_changes(display_name: str | None, bio: str | None) -> dict:
    """The checked column values for a new display name and bio (None: unchanged); 422 naming the field."""
    changes = {}
    if display_name is not None:
        changes["display_name"] = validate.text(display_name, "display_name", max_len=80)
    if bio is not None:
        changes["bio"] = validate.text(bio, "bio", max_len=500, min_len=0)
    return changes


def update_profile(user_id: str, display_name: str | None = None, bio: str | None = None,
                   avatar_url: str | object | None = UNCHANGED) -> Me:
    """Change the fields given (None leaves display_name and bio as they are); return the user.

    ``avatar_url``: an ``https://`` URL, or None/"" to clear it (see ``users.avatar_url``); either way it
    replaces an uploaded avatar (``chat.actions.profiles``). A change records ``user.updated``.
    """
    changes = profile_changes(display_name, bio)
    if avatar_url is not UNCHANGED:
        changes["avatar_url"] = users_actions.avatar_url(avatar_url)
        changes["avatar_key"] = None
    users_actions.write_profile(user_id, changes)
    return get_me(user_id)


def change_password(user_id, current_password, new_password, keep_session=None, keep_token=None):
    """Replace the password after checking the current one; revoke every other session and token.

    401 (field ``current_password``) when the current one is wrong; 422 (``new_password``) for a weak one.
    """
    new_password = validate.password(new_password, field="new_password")
    current_password = current_password if isinstance(current_password, str) else ""
    with transaction() as conn:
        row = conn.execute(sa.select(accounts.c.password_hash).where(accounts.c.user_id == user_id)).first()
    if row is None or not passwords.check_password(row.password_hash, current_password):
        raise Unauthorized("Your current password is not right.", field="current_password",
                           code="invalid_credentials")
    password_hash = passwords.hash_password(new_password)
    with transaction() as conn:
        conn.execute(accounts.update().where(accounts.c.user_id == user_id).values(password_hash=password_hash))
        sessions.revoke_all_in(conn, user_id, keep_session, keep_token)


def _token_hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user_id: str, expires: bool = True) -> str:
    """A new bearer token for ``user_id``, expiring after ``API_TOKEN_DAYS`` (0, or ``expires=False``: never);
    only its hash is stored. A bot's token does not expire: it has no password to get another with."""
    token = "chat_" + secrets.token_urlsafe(32)
    now = utcnow()
    days = int(current_app.config.get("API_TOKEN_DAYS", 90)) if expires else 0
    with transaction() as conn:
        conn.execute(api_tokens.insert().values(id=validate.new_id(), user_id=user_id,
                                                token_hash=_token_hash(token), created_at=now,
                                                expires_at=now + timedelta(days=days) if days > 0 else None))
    return token


_TOKEN_CREDENTIAL = (  # built once: it runs on every API request
    sa.select(*USER_COLUMNS, accounts.c.email, api_tokens.c.id.label("token_id"), api_tokens.c.last_used_at)
    .select_from(api_tokens.join(users, users.c.id == api_tokens.c.user_id)
                 .join(accounts, accounts.c.user_id == users.c.id))
    .where(api_tokens.c.token_hash == sa.bindparam("token_hash"), api_tokens.c.revoked_at.is_(None),
           sa.or_(api_tokens.c.expires_at.is_(None),
                  api_tokens.c.expires_at > sa.bindparam("now", type_=api_tokens.c.expires_at.type))))


def token_credential(token: str) -> tuple[Me, str] | None:
    """``(user dict with email, token id)`` for a live (unrevoked, unexpired) bearer token, or None.

    One query, outside a transaction on Postgres (``sessions.one_read``); ``last_used_at`` is written at
    most once a minute on top of it.
    """
    if not token or len(token) > 200:
        return None
    now = utcnow()
    with sessions.one_read() as conn:
        row = conn.execute(_TOKEN_CREDENTIAL, {"token_hash": _token_hash(token), "now": now}).first()
    if row is None:
        return None
    sessions.touch(api_tokens, row.token_id, row.last_used_at, now)
    return {**user_dict(row), "email": row.email}, str(row.token_id)


def user_for_token(token: str) -> Me | None:
    """The user (with email) a live bearer token belongs to, or None."""
    found = token_credential(token)
    return found[0] if found else None


def revoke_token(token: str) -> None:
    """Revoke a bearer token; revoking twice is harmless."""
    with transaction() as conn:
        conn.execute(api_tokens.update()
                     .where(api_tokens.c.token_hash == _token_hash(token), api_tokens.c.revoked_at.is_(None))
                     .values(revoked_at=utcnow()))

"""The chat profile of a Supabase Auth user, made on their first verified access token.

The profile's id is the token's ``sub`` (the ``auth.users`` id), so the claims RLS sees in the person's
transactions (``auth.uid()``) are the token's own. It has an account row with the token's email and no
usable password (``NO_PASSWORD`` is not a hash: a password sign-in with it always fails), so ``/me``
looks as it does for everyone else.
"""
import re
import uuid

import sqlalchemy as sa

from ..db import transaction
from ..errors import Conflict, Invalid, Unauthorized
from ..schema import accounts, users, utcnow
from ..types import Me
from . import validate
from .accounts import get_me

NO_PASSWORD = "!supabase-auth"  # never a valid argon2 hash: passwords.check_password returns False


def profile_for_claims(claims: dict) -> Me:
    """The user for verified Supabase claims, creating the profile the first time.

    401 when ``sub`` is not a uuid; 409 (field ``email``) when a chat account already has the token's
    email: the two are not joined silently, since the token proves only the Supabase side.
    """
    try:
        user_id = str(uuid.UUID(str(claims.get("sub", ""))))
    except ValueError:
        raise Unauthorized("The access token names no user.", code="unauthorized") from None
    found = get_me(user_id)
    if found is not None:
        return found
    metadata = claims.get("user_metadata") if isinstance(claims.get("user_metadata"), dict) else {}
    email = _email(claims.get("email"), user_id)
    display_name = next((name for k in ("full_name", "name", "display_name", "user_name")
                         if (name := _display_name(metadata.get(k)))), None)
    base = _username_base(metadata.get("user_name") or metadata.get("preferred_username") or email.split("@")[0])
    now = utcnow()
    try:
        _create(user_id, email, display_name, base, now)
    except sa.exc.IntegrityError:
        if get_me(user_id) is None:  # not a concurrent first request of the same person: a real conflict
            raise Conflict("That profile could not be made; try again.", code="conflict") from None
    return get_me(user_id)


def _create(user_id, email, display_name, base, now):
    with transaction() as conn:
        if conn.execute(sa.select(users.c.id).where(users.c.id == user_id)).first() is None:
            if conn.execute(sa.select(accounts.c.user_id).where(accounts.c.email == email)).first():
                raise Conflict("An account with that email already exists.", field="email", code="email_taken")
            username = _free_username(conn, base, user_id)
            conn.execute(users.insert().values(id=user_id, username=username,
                                               display_name=display_name or username, bio="", created_at=now))
            conn.execute(accounts.insert().values(user_id=user_id, email=email, password_hash=NO_PASSWORD,
                                                  created_at=now))


def _display_name(value):
    """A storable display name from user metadata, or None (a bad one falls back to the username)."""
    try:
        return validate.optional_text(value.strip()[:80], "display_name", 80) if isinstance(value, str) else None
    except Invalid:
        return None


def _email(value, user_id):
    try:
        return validate.email(value)
    except Invalid:
        return f"{user_id}@supabase.invalid"  # a phone or anonymous sign-in: no address to show


def _username_base(value):
    base = re.sub(r"[^a-z0-9_]+", "_", str(value or "").lower()).strip("_")[:24]
    return base if len(base) >= 3 else "user"


def _free_username(conn, base, user_id):
    """``base``, or ``base_<part of the id>`` when taken (the id makes it unique)."""
    for candidate in (base, f"{base}_{user_id[:6]}", f"{base[:19]}_{user_id.replace('-', '')[:12]}"):
        if conn.execute(sa.select(users.c.id).where(users.c.username == candidate)).first() is None:
            return candidate
    return "u_" + user_id.replace("-", "")[:30]

"""Bots: users made by a person, who post through the API with their own token and never sign in.

A bot has an account row (so ``/me`` and bearer tokens work as for everyone) whose password hash is not
a hash: every password sign-in with it fails. Its creator adds it to conversations like anyone else.
"""
import sqlalchemy as sa

from ..db import transaction
from ..errors import Conflict, Forbidden
from ..schema import accounts, users, utcnow
from ..types import Me
from . import accounts as accounts_actions
from . import validate

NO_PASSWORD = "!bot"  # never a valid argon2 hash: passwords.check_password returns False


def create_bot(actor_id: str, username, display_name=None) -> tuple[Me, str]:
    """Make a bot owned by ``actor_id``; ``(user, token)``. 409 names a taken username; bots make no bots."""
    username = validate.username(username)
    display_name = validate.optional_text(display_name, "display_name", 80) or username
    bot_id, now = validate.new_id(), utcnow()
    with transaction() as conn:
        if conn.execute(sa.select(users.c.bot_owner_id).where(users.c.id == actor_id)).scalar() is not None:
            raise Forbidden("A bot cannot make bots.")
        if conn.execute(sa.select(users.c.id).where(users.c.username == username)).first():
            raise Conflict("That username is taken.", field="username", code="username_taken")
        conn.execute(users.insert().values(id=bot_id, username=username, display_name=display_name, bio="",
                                           created_at=now, bot_owner_id=actor_id))
        conn.execute(accounts.insert().values(user_id=bot_id, email=f"{bot_id}@bots.invalid",
                                              password_hash=NO_PASSWORD, created_at=now))
    return accounts_actions.get_me(bot_id), accounts_actions.issue_token(bot_id, expires=False)

"""``flask --app app db upgrade`` and ``flask --app app demo``."""
import os

import click
from flask.cli import AppGroup

from .db import get_db

db_cli = AppGroup("db", help="Database commands.")


@db_cli.command("upgrade")
def upgrade_command():
    """Apply pending migrations to DATABASE_URL (or the SQLite file)."""
    from . import migrations
    applied = migrations.upgrade(get_db())
    click.echo(f"Applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else "; up to date."))


@click.command("demo")
@click.option("--password", default="password123", show_default=True, help="Password for every demo person.")
def demo_command(password):
    """Create demo people (alice, bob, carol) and the "book-club" group, to try the app at once."""
    from . import demo
    people = demo.seed(password)
    click.echo("Demo people (password: {}): {}".format(password, ", ".join(p["username"] for p in people)))
    click.echo(f"Sign in at {sign_in_url()} (or at /login on whatever address your server runs).")


def sign_in_url(env=None):
    """Where ``flask run`` serves the sign-in page: FLASK_RUN_HOST/FLASK_RUN_PORT, else Flask's defaults."""
    env = os.environ if env is None else env
    host = env.get("FLASK_RUN_HOST") or "127.0.0.1"
    host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{env.get('FLASK_RUN_PORT') or 5000}/login"


def init_app(app):
    app.cli.add_command(db_cli)
    app.cli.add_command(demo_command)

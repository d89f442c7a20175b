"""Upkeep: uploads never sent (``flask attachments prune``) and ended sessions, from the relay's upkeep hourly;
the uses of sessions and tokens that requests left to write (``sessions.write_uses``), every second.

This module sits outside ``chat.actions`` and ``chat.delivery`` because it joins them: the delivery layer
runs upkeep hooks but may not import the actions; the hook is registered here, at app creation.
"""
import click
from flask.cli import AppGroup

PRUNE_EVERY_SECONDS = 3600

attachments_cli = AppGroup("attachments", help="Attachment upkeep.")


@attachments_cli.command("prune")
@click.option("--older-than", type=int, default=None, metavar="SECONDS",
              help="Age of unsent uploads to delete (default: ATTACHMENT_UNATTACHED_SECONDS, a day).")
def prune_command(older_than):
    """Delete uploads never attached to a message, older than a day, with their files."""
    from .actions.attachments import prune_unattached
    click.echo(f"Deleted {prune_unattached(older_than)} unsent upload(s).")


def init_app(app):
    """Register the command, and the upkeep hooks on this app's relay (when delivery made one)."""
    from .actions.attachments import prune_unattached
    from .actions.sessions import prune_ended, write_uses
    from .delivery import add_upkeep_hook

    app.cli.add_command(attachments_cli)
    add_upkeep_hook(app, 0, write_uses)
    add_upkeep_hook(app, PRUNE_EVERY_SECONDS, prune_unattached)
    add_upkeep_hook(app, PRUNE_EVERY_SECONDS, prune_ended)

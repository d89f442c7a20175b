"""``flask push keys`` (a VAPID key pair in the contract's format) and ``flask push send`` (one sending sweep)."""
import click
from flask.cli import AppGroup

push_cli = AppGroup("push", help="Web Push.")


@push_cli.command("keys")
def keys_command():
    """Print a new VAPID key pair as VAPID_PRIVATE_KEY / VAPID_PUBLIC_KEY lines for the environment."""
    from .webpush import generate_keys
    private, public = generate_keys()
    click.echo(f"VAPID_PRIVATE_KEY={private}")
    click.echo(f"VAPID_PUBLIC_KEY={public}")


@push_cli.command("send")
def send_command():
    """Send the pushes that are due now (the relay's sweep does this every second in a running server)."""
    from .delivery import push
    counts = push.send_due()
    click.echo(", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items())) or "Nothing to send.")

"""Live delivery: broker, outbox relay and the Server-Sent Events streams."""


def init_app(app):
    """Set up the broker and relay for ``app`` (filled in by the live-delivery work)."""

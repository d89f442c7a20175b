"""The HTML UI (Flask + Jinja + HTMX)."""


def init_app(app):
    """Register the web pages."""

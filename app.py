"""Entry point: ``flask --app app run`` or ``gunicorn app:app`` (see Procfile)."""
from chat import create_app

app = create_app()

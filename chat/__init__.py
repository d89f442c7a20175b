"""A real-time chat web app: Flask + HTMX + Server-Sent Events over Redis, stored in Postgres or SQLite."""
import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import auth, cli, config, security
from .db import Database
from .storage import LocalStorage


def create_app(test_config=None):
    """Build the app. ``test_config`` overrides settings read from the environment."""
    app = Flask(__name__, instance_relative_config=True,
                template_folder=os.path.join(os.path.dirname(__file__), "..", "templates"),
                static_folder=os.path.join(os.path.dirname(__file__), "..", "static"))
    settings = config.from_environment(instance_path=app.instance_path)
    app.config.update(settings)
    if test_config:
        app.config.update(test_config)
    if app.config.get("TRUSTED_PROXIES"):
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    db = Database(app.config["DATABASE_URL"], pool_size=app.config["DATABASE_POOL_SIZE"])
    app.extensions["chat.db"] = db
    app.extensions["chat.storage"] = LocalStorage(app.config["UPLOAD_FOLDER"])
    if db.is_sqlite and app.config.get("AUTO_MIGRATE", True):
        from . import migrations
        migrations.upgrade(db)  # the embedded default needs no setup step

    auth.init_app(app)
    security.init_app(app)
    cli.init_app(app)

    from . import api, delivery, web
    api.init_app(app)
    delivery.init_app(app)
    web.init_app(app)
    return app

"""A real-time chat web app: Flask + HTMX + Server-Sent Events over Redis, stored in Postgres or SQLite."""
import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import auth, cli, config, errors, security, storage, webpush
from .db import Database
from .json_text import JSONProvider


def create_app(test_config=None, instance_path=None):
    """Build the app. ``test_config`` overrides settings read from the environment; ``instance_path``
    (default: ``instance/`` beside the package) is where development keeps its database and secret."""
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path,
                template_folder=os.path.join(os.path.dirname(__file__), "..", "templates"),
                static_folder=os.path.join(os.path.dirname(__file__), "..", "static"))
    app.json = JSONProvider(app)
    app.config.update(config.from_environment(instance_path=app.instance_path, overrides=test_config))
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    db = Database(app.config["DATABASE_URL"], pool_size=app.config["DATABASE_POOL_SIZE"],
                  pool_timeout=float(app.config["DATABASE_POOL_TIMEOUT"]))
    app.extensions["chat.db"] = db
    app.extensions["chat.storage"] = storage.from_config(app.config)
    storage.refuse_local_storage_in_production(app.config)  # several workers need a shared store
    if db.is_sqlite and app.config["AUTO_MIGRATE"]:
        from . import migrations
        migrations.upgrade(db)  # the embedded default needs no setup step

    errors.init_app(app)
    auth.init_app(app)
    security.init_app(app)
    cli.init_app(app)
    webpush.init_app(app)

    from . import api, delivery, web
    api.init_app(app)
    delivery.init_app(app)
    web.init_app(app)
    from .delivery.setup_aside import set_up_aside
    set_up_aside(app)  # after every route is known: the stream routes' set-ups run in a greenlet of their own
    from . import attachment_upkeep
    attachment_upkeep.init_app(app)  # after delivery: it hooks into the relay's upkeep
    return app

"""``GET /healthz``: can this process reach its database and broker?"""
import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from .. import delivery
from ..db import get_db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        with get_db().engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        db_status = "ok"
    except Exception:
        db_status = "down"
    broker_status = delivery.health(current_app)
    ok = db_status == "ok" and broker_status in ("ok", "none")
    return jsonify(status="ok" if ok else "degraded", db=db_status, broker=broker_status), 200 if ok else 503

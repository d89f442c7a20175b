"""Upload and download attachments."""
from flask import jsonify, request, send_file

from ..actions import attachments
from ..security import per_user
from . import bp
from .helpers import me, signed_in


@bp.post("/attachments")
@signed_in
@per_user("RATE_LIMIT_UPLOADS")
def upload():
    return jsonify(attachments.upload(me(), request.files.get("file"))), 201


@bp.get("/attachments/<attachment_id>/content")
@signed_in
def download(attachment_id):
    attachment, stream = attachments.open_attachment(me(), attachment_id)
    inline = attachment["content_type"].startswith(("image/", "audio/"))
    response = send_file(stream, mimetype=attachment["content_type"], as_attachment=not inline,
                         download_name=attachment["filename"], max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response

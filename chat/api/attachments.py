"""Upload and download attachments; a request over the size limit gets the app's own refusal."""
from flask import current_app, jsonify, redirect, request, send_file
from werkzeug.exceptions import RequestEntityTooLarge

from ..actions import attachments
from ..security import per_user
from . import bp
from .helpers import me, signed_in


@bp.app_errorhandler(RequestEntityTooLarge)
def request_too_large(_error):
    """Werkzeug's 413 (over ``MAX_CONTENT_LENGTH``), on the API and the web composer alike, said as a person
    would: the size and the limit, in the app's error shape (JSON on the API, the error fragment on pages)."""
    if request.mimetype == "multipart/form-data":
        error = attachments.too_large(request.content_length)
    else:
        error = attachments.too_large(request.content_length, field=None, what="request")
    return current_app.handle_user_exception(error)


@bp.post("/attachments")
@signed_in
@per_user("RATE_LIMIT_UPLOADS")
def upload():
    return jsonify(attachments.upload(me(), request.files.get("file"))), 201


@bp.get("/attachments/<attachment_id>/content")
@signed_in
def download(attachment_id):
    """The bytes for a member, or (``S3_SIGNED_URL_SECONDS`` > 0 with an S3 store) a 302 to a presigned URL
    that expires that many seconds later; 404 for anyone else, and for everyone once the message is deleted."""
    seconds = current_app.config.get("S3_SIGNED_URL_SECONDS") or 0
    if seconds > 0:
        url = attachments.signed_download(me(), attachment_id, seconds)
        if url:
            response = redirect(url, 302)
            response.headers["Cache-Control"] = "private, no-store"  # the URL expires; never cache it
            return response
    attachment, stream = attachments.open_attachment(me(), attachment_id)
    inline = attachment["content_type"].startswith(("image/", "audio/"))
    response = send_file(stream, mimetype=attachment["content_type"], as_attachment=not inline,
                         download_name=attachment["filename"], max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.get("/attachments/<attachment_id>/thumbnail")
@signed_in
def thumbnail(attachment_id):
    """A picture's WebP thumbnail (the attachment's ``thumbnail_url``), for whoever may read the picture."""
    stream = attachments.open_thumbnail(me(), attachment_id)
    response = send_file(stream, mimetype="image/webp", max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response

"""Jinja filters: text made safe and readable (links, initials, sizes, UTC fallbacks for times)."""
import hashlib
import re
from datetime import datetime

from markupsafe import Markup, escape

# http(s) links only; a trailing full stop, comma or closing bracket belongs to the sentence, not the link.
URL_RE = re.compile(r"\bhttps?://[^\s<>\"'`]+", re.IGNORECASE)
TRAILING = ".,;:!?)]}'\""
AVATAR_HUES = 8  # classes .hue-0 … .hue-7 in app.css (inline styles are not allowed by our CSP)


def linkify(text):
    """Escape ``text`` and turn http(s) URLs into links; never passes markup through."""
    text = text or ""
    out, last = [], 0
    for match in URL_RE.finditer(text):
        url = match.group(0)
        trimmed = url.rstrip(TRAILING)
        if trimmed.count("(") > trimmed.count(")") and url[len(trimmed):].startswith(")"):
            trimmed += ")"  # keep the bracket of a Wikipedia-style link
        start, end = match.start(), match.start() + len(trimmed)
        out.append(escape(text[last:start]))
        out.append(Markup('<a href="{0}" rel="noopener noreferrer nofollow ugc" target="_blank">{0}</a>')
                   .format(trimmed))
        last = end
    out.append(escape(text[last:]))
    return Markup("").join(out)


def initials(person):
    """One or two letters for an avatar placeholder."""
    name = (person.get("display_name") or person.get("username") or "?").strip()
    words = [w for w in re.split(r"\s+", name) if w]
    letters = (words[0][:1] + (words[1][:1] if len(words) > 1 else "")) if words else "?"
    return letters.upper()


def avatar_hue(person):
    """A stable colour class number for someone's initials, from their id."""
    digest = hashlib.sha1(str(person.get("id", "")).encode()).digest()
    return digest[0] % AVATAR_HUES


def filesize(size):
    size = float(size or 0)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024


def parse_time(value):
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def utc_time(value):
    """``14:05`` in UTC: the text a <time> shows until the script formats it in local time."""
    return parse_time(value).strftime("%H:%M") if value else ""


def utc_day(value):
    return parse_time(value).strftime("%Y-%m-%d") if value else ""


def day_label(value):
    return parse_time(value).strftime("%A, %d %B %Y") if value else ""


def init_app(app):
    app.jinja_env.filters.update(linkify=linkify, initials=initials, avatar_hue=avatar_hue, filesize=filesize,
                                 utc_time=utc_time, utc_day=utc_day, day_label=day_label)

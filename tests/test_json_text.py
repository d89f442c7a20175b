"""JSON as the app writes it (chat/json_text.py): what the standard library would read back, everywhere."""
import datetime
import decimal
import json
import uuid

from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from chat import json_text

# What the app puts in JSON: no lone surrogates (Postgres and SQLite cannot store them), 64-bit integers.
TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"]))
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=30)


@given(VALUES)
def test_what_it_writes_reads_back_as_the_value_on_one_line(value):
    text = json_text.dumps(value)
    assert json.loads(text) == value
    assert "\n" not in text
    assert json_text.loads(text) == value


def test_non_ascii_is_written_as_it_is_and_what_orjson_refuses_the_standard_library_writes():
    assert json_text.dumps({"name": "Zoë ✓"}) == '{"name":"Zoë ✓"}'
    assert json_text.dumps({"n": 2**70}) == '{"n":1180591620717411303424}'
    assert json_text.dumps(["\ud800"]) == json.dumps(["\ud800"], ensure_ascii=False)


def test_responses_are_compact_utf8_json_with_flasks_forms_for_what_json_has_no_type_for():
    app = Flask(__name__)
    app.json = json_text.JSONProvider(app)
    value = {"at": datetime.datetime(2026, 12, 7, 13, 0, tzinfo=datetime.UTC), "price": decimal.Decimal("1.50"),
             "id": uuid.UUID(int=5), "name": "Zoë"}
    with app.app_context():
        body = app.json.response(value).get_data()
        plain = Flask("plain")
        with plain.app_context():
            expected = json.loads(plain.json.response(value).get_data())
        assert json.loads(body) == expected
        assert body.endswith(b"\n") and b" " not in body.replace(b"Mon, 07 Dec 2026 13:00:00 GMT", b"")
        assert "Zoë".encode() in body
        surrogate = app.json.response({"s": "\ud800"})  # written by the standard library, not a 500
        assert json.loads(surrogate.get_data()) == {"s": "\ud800"}

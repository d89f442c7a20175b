"""Schemathesis over the served OpenAPI document, as a signed-in bearer user, on SQLite and Postgres.

Every operation gets a bounded number of generated requests: valid ones with generated path parameters, and
valid and invalid ones (negative mode: out-of-range numbers, wrong types, missing fields) with ids of real
objects the user can see, so the checks reach past 404. No response may be a 5xx, and each must conform to
the document (status code, content type, JSON schema).
"""
import io

import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from PIL import Image
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)

from chat.actions import accounts, attachments, conversations, messages

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 3
# The stream never ends, and signing out would revoke the token every other request uses.
SKIPPED = {("GET", "/api/v1/events"), ("POST", "/api/v1/auth/logout")}


def _png():
    out = io.BytesIO()
    Image.new("RGB", (2, 2), "red").save(out, "PNG")
    out.seek(0)
    return out


class _Upload:
    """What ``attachments.upload`` reads from a werkzeug FileStorage."""

    filename = "red.png"

    def __init__(self):
        self.stream = _png()

    def read(self, size=-1):
        return self.stream.read(size)


@pytest.fixture
def world(app, alice, bob):
    """Real objects alice can see, by the names of the path parameters that reach them."""
    group = conversations.create_group(alice["id"], "club", [bob["id"]])
    message, _ = messages.send_message(alice["id"], group["id"], "hello")
    with app.test_request_context():
        attachment = attachments.upload(alice["id"], _Upload())
    return {"conversation_id": group["id"], "message_id": message["id"], "user_id": bob["id"],
            "key": "bob", "attachment_id": attachment["id"]}


def test_no_operation_answers_with_a_server_error_or_off_contract(app, alice, world):
    def isolated(environ, start_response):
        # A fresh app context per request, as a real server has (the test holds one open).
        with app.app_context():
            return app(environ, start_response)

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", isolated)
    auth = {"Authorization": f"Bearer {accounts.issue_token(alice['id'])}"}
    # Deletes last, so that the real message and member are still there for the other operations.
    operations = sorted((result.ok() for result in schema.get_all_operations()),
                        key=lambda op: op.method.upper() == "DELETE")
    assert len(operations) >= 20
    tried = 0
    for operation in operations:
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        names = [p.name for p in operation.path_parameters]
        real = {n: world[n] for n in names}
        variants = [(GenerationMode.POSITIVE, None), (GenerationMode.NEGATIVE, real)]
        if names:
            variants.append((GenerationMode.POSITIVE, real))
        for mode, path_parameters in variants:
            strategy = operation.as_strategy(mode, path_parameters=path_parameters)

            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def run(case):
                response = case.call(headers=auth)
                case.validate_response(response, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE, operation.label  # nothing there to make invalid
                continue
            tried += 1
    assert tried >= 45

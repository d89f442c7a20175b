"""Schemathesis over the served OpenAPI document, as a signed-in bearer user, on SQLite and Postgres.

Every operation gets schemathesis's coverage cases (valid and invalid boundary values: numbers just past a
limit, wrong types, missing fields, malformed ids) and a few random valid requests; well-formed ids are
pointed at real objects the user can see, so the checks reach past 404. No response may be a 5xx, and each
must conform to the document (status code, content type, JSON schema).
"""
import io
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from PIL import Image
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.datastructures import FileStorage

from chat.actions import accounts, attachments, conversations, incoming_webhooks, messages, webhooks

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 3
# The stream never ends, and signing out would revoke the token every other request uses.
SKIPPED = {("GET", "/api/v1/events"), ("POST", "/api/v1/auth/logout")}


def _png():
    out = io.BytesIO()
    Image.new("RGB", (2, 2), "red").save(out, "PNG")
    out.seek(0)
    return out


@pytest.fixture
def world(app, alice, bob):
    """Real objects alice can see, by the names of the path parameters that reach them."""
    group = conversations.create_group(alice["id"], "club", [bob["id"]])
    message, _ = messages.send_message(alice["id"], group["id"], "hello")
    with app.test_request_context():
        attachment = attachments.upload(alice["id"], FileStorage(_png(), "red.png", content_type="image/png"))
        hook = webhooks.register(alice["id"], group["id"], "https://example.com/hook")
    secrets = []
    incoming = incoming_webhooks.create(alice["id"], group["id"], lambda secret: secrets.append(secret) or secret)
    return {"conversation_id": group["id"], "message_id": message["id"], "user_id": bob["id"],
            "key": "bob", "attachment_id": attachment["id"], "emoji": "👍", "webhook_id": hook["id"],
            "hook_id": incoming["id"], "secret": secrets[0]}


def _with_real_ids(case, world):
    """Point a case whose path parameters are well-formed at real objects, so it reaches past 404."""
    params = case.path_parameters or {}
    try:
        for name, value in params.items():
            if name not in ("key", "emoji", "secret"):
                uuid.UUID(str(value))
    except ValueError:
        return case  # a malformed id is what this case is about
    params.update({name: world[name] for name in params})
    return case


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
    calls = 0
    for operation in operations:
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        # Schemathesis's coverage phase: boundary values (2^63, -1, wrong types, missing fields, malformed ids).
        for case in schema.iter_coverage_cases(
                operation, generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                generation_config=schema.config.generation_for(operation=operation)):
            case = _with_real_ids(case, world)
            case.validate_response(case.call(headers=auth), checks=CHECKS)
            calls += 1
        # Then a few random valid requests on real objects.
        names = [p.name for p in operation.path_parameters]

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(path_parameters={n: world[n] for n in names} or None))
        def fuzz(case):
            case.validate_response(case.call(headers=auth), checks=CHECKS)

        fuzz()
        calls += EXAMPLES
    assert calls >= 500

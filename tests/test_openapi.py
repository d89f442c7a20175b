"""The OpenAPI document names exactly the live API routes, with their methods."""
import re


def live_routes(app):
    routes = set()
    for rule in app.url_map.iter_rules():
        if not (rule.rule.startswith(("/api/", "/hooks/")) or rule.rule == "/healthz"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method.lower(), path))
    return routes


def test_openapi_matches_live_routes(app, client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    documented = {(method, path) for path, ops in doc["paths"].items() for method in ops}
    assert documented == live_routes(app)


def test_every_operation_documents_its_errors(client):
    doc = client.get("/api/v1/openapi.json").json
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["responses"], (method, path)
            assert "default" in op["responses"], (method, path)


def test_contract_paths_are_present(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/api/v1/auth/signup", "/api/v1/auth/token", "/api/v1/auth/logout", "/api/v1/me",
                 "/api/v1/users", "/api/v1/conversations", "/api/v1/conversations/direct",
                 "/api/v1/conversations/{conversation_id}/messages", "/api/v1/messages/{message_id}",
                 "/api/v1/conversations/{conversation_id}/read", "/api/v1/attachments", "/api/v1/events",
                 "/healthz"):
        assert path in paths, path


def test_the_document_validates_as_openapi_3_1(client):
    from openapi_spec_validator import validate
    validate(client.get("/api/v1/openapi.json").json)


def test_every_templated_path_declares_its_path_parameters(client):
    for path, item in client.get("/api/v1/openapi.json").json["paths"].items():
        names = set(re.findall(r"{([^}]+)}", path))
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        for op in (v for k, v in item.items() if k != "parameters"):
            declared |= {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert declared == names, path


def test_request_schemas_state_the_enforced_limits(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    history = {p["name"]: p["schema"] for p in paths["/api/v1/conversations/{conversation_id}/messages"]["get"]
               ["parameters"]}
    assert (history["limit"]["minimum"], history["limit"]["maximum"]) == (1, 100)
    assert history["after"]["minimum"] == 0 and history["after"]["maximum"] == 2**63 - 1
    send = paths["/api/v1/conversations/{conversation_id}/messages"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]["properties"]
    assert send["body"]["maxLength"] == 4000 and send["body"]["minLength"] == 1
    read = paths["/api/v1/conversations/{conversation_id}/read"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]["properties"]
    assert read["seq"]["minimum"] == 0
    member = paths["/api/v1/conversations/{conversation_id}/members"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]["properties"]
    assert member["role"] == {"enum": ["member", "admin"]}

"""Request and response validation against Webex's OpenAPI text, $refs resolved."""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib import resources
from typing import Any

from jsonschema.exceptions import ValidationError, best_match
from openapi_schema_validator import OAS30Validator

SPEC_FILE = "webex-api-subset.openapi.json"

# Webex's OpenAPI text types a message attachment's `content` as a File (fileId, type,
# contentUrl required), which rejects every adaptive card Webex actually accepts and returns.
# The emulator validates against the documented card shape instead.
OVERLAY: dict[str, Any] = {
    "Attachment": {
        "type": "object",
        "required": ["contentType", "content"],
        "properties": {"contentType": {"type": "string"}, "content": {"type": "object"}},
    },
    # GET /locations' items point at the workspace-location schema (address a string,
    # countryCode, numeric latitude required); Webex's own examples show this shape.
    "LocationsCollectionResponse": {
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "name", "orgId"],
                    "properties": {
                        "id": {"type": "string"},
                        "name": {"type": "string"},
                        "orgId": {"type": "string"},
                        "address": {"type": "object"},
                        "timeZone": {"type": "string"},
                        "preferredLanguage": {"type": "string"},
                        "latitude": {"type": "string"},
                        "longitude": {"type": "string"},
                        "notes": {"type": "string"},
                    },
                },
            }
        },
    },
}
# (schema, property path) marked nullable: Webex's own example for the calling-locations list
# has `callingLineId.phoneNumber: null`, which its schema (a string) would reject.
NULLABLE = (("ListLocationObject", ("callingLineId", "phoneNumber")),)


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    """Return the OpenAPI document shipped with the emulator, with the overlay applied."""
    text = resources.files("bot.emulator").joinpath(SPEC_FILE).read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(text)
    schemas = doc["components"]["schemas"]
    schemas.update(copy.deepcopy(OVERLAY))
    for name, path in NULLABLE:
        node = schemas[name]
        for part in path:
            node = node["properties"][part]
        node["nullable"] = True
    return doc


def _resolve(node: Any, doc: dict[str, Any], depth: int = 0) -> Any:
    """Return node with every local $ref replaced by its target."""
    if depth > 20:
        raise ValueError("$ref nesting too deep")
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = doc
            for part in ref[2:].split("/"):
                target = target[part]
            return _resolve(target, doc, depth + 1)
        return {k: _resolve(v, doc, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, doc, depth + 1) for v in node]
    return node


@lru_cache(maxsize=256)
def _validator(method: str, template: str, status: int | None) -> OAS30Validator | None:
    """Return a validator for an operation's request (status None) or response body."""
    operation = spec()["paths"].get(template, {}).get(method.lower())
    if operation is None:
        return None
    if status is None:
        holder = operation.get("requestBody", {})
    else:
        holder = operation.get("responses", {}).get(str(status), {})
    schema = holder.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return None
    return OAS30Validator(_resolve(schema, spec()))


def _describe(error: ValidationError) -> str:
    """Return a one-line description of a validation error naming the field."""
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{error.message} (at {where})" if where else error.message


def request_problem(method: str, template: str, body: Any) -> str | None:
    """Return what is wrong with a request body for an operation, or None when it is valid."""
    validator = _validator(method, template, None)
    if validator is None:
        return None
    error = best_match(validator.iter_errors(body))
    return None if error is None else _describe(error)


def response_problem(method: str, template: str, status: int, body: Any) -> str | None:
    """Return what is wrong with a response body for an operation and status, or None."""
    validator = _validator(method, template, status)
    if validator is None:
        return None
    error = best_match(validator.iter_errors(body))
    return None if error is None else _describe(error)


def has_request_body(method: str, template: str) -> bool:
    """Return whether the operation documents a JSON request body."""
    operation = spec()["paths"].get(template, {}).get(method.lower(), {})
    return "application/json" in operation.get("requestBody", {}).get("content", {})

"""Validation against Visma's OpenAPI document: request bodies (strictly) and, in tests, our own responses."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path

from jsonschema import Draft7Validator

SPEC_PATH = Path(__file__).resolve().parent / "openapi" / "visma-salesorder-v3.json"

# jsonschema validator name -> Visma error code from components.x-visma-erp-error-codes
_ERROR_CODES = {
    "required": "0001-NullNotAllowed",
    "minLength": "0001-EmptyNotAllowed",
    "maxLength": "0002-InvalidLength",
    "type": "0003-InvalidValue",
    "additionalProperties": "0003-InvalidValue",
    "enum": "0004-ValueNotAllowed",
    "minimum": "0100-OutsideValidRange",
    "maximum": "0100-OutsideValidRange",
}


@cache
def spec() -> dict:
    return json.loads(SPEC_PATH.read_text())


def _to_json_schema(node):
    """OpenAPI 3.0 `nullable: true` becomes a JSON Schema type union; everything else passes through."""
    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _to_json_schema(value) for key, value in node.items() if key not in ("format", "example")}
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"]
        elif "$ref" in node:
            node = {"anyOf": [{"$ref": node["$ref"]}, {"type": "null"}]}
        if "enum" in node:
            node["enum"] = [*node["enum"], None]
    return node


@cache
def _components() -> dict:
    return {"schemas": _to_json_schema(copy.deepcopy(spec()["components"]["schemas"]))}


@cache
def validator(schema_name: str) -> Draft7Validator:
    return Draft7Validator({"$ref": f"#/components/schemas/{schema_name}", "components": _components()})


def error_codes() -> set[str]:
    return {entry["code"] for entry in spec()["components"]["x-visma-erp-error-codes"]}


def _property_path(path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def request_errors(schema_name: str, body) -> list[tuple[str, str, str]]:
    """(property path, Visma error code, message) for every schema violation of a request body."""
    problems = []
    for error in sorted(validator(schema_name).iter_errors(body), key=lambda e: list(map(str, e.absolute_path))):
        path = _property_path(error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1]
            path = f"{path}.{missing}" if path else missing
            message = f"'{missing}' is required."
        elif error.validator == "additionalProperties":
            unknown = ", ".join(sorted(set(error.instance) - set(error.schema.get("properties", {}))))
            path = f"{path}.{unknown}" if path else unknown
            message = f"Unknown field '{unknown}'."
        elif error.validator == "maxLength":
            message = f"The value may be at most {error.validator_value} characters long."
        elif error.validator == "minLength":
            message = "The value may not be empty."
        else:
            message = f"The value is not valid ({error.validator})."
        problems.append((path or "body", _ERROR_CODES.get(str(error.validator), "0003-InvalidValue"), message))
    return problems


def response_errors(schema_name: str, body) -> list[str]:
    """Messages for every way a response body breaks its schema (used by the sandbox's own tests)."""
    return [f"{_property_path(e.absolute_path)}: {e.message}" for e in validator(schema_name).iter_errors(body)]

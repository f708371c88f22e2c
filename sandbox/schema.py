"""Validation against Visma's OpenAPI document: request bodies (strictly) and, in tests, our own responses."""

from __future__ import annotations

import copy
import json
import math
import re
from datetime import datetime
from functools import cache
from pathlib import Path

from jsonschema import Draft7Validator, FormatChecker

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
    "format": "0003-InvalidValue",
}
# ISO 8601 as .NET reads a DateTime: a date, optionally a time, optionally a UTC offset.
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})?)?")
# Largest magnitude of each numeric format; integers must also be whole numbers.
_NUMBER_LIMITS = {
    "int32": 2**31 - 1,
    "int64": 2**63 - 1,
    "float": 3.4028235e38,
    "double": 1.7976931348623157e308,
    "decimal": 79228162514264337593543950335,
}
FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time")
def _is_date_time(value) -> bool:
    if not isinstance(value, str):
        return True  # a wrong type is reported by the type check
    if not _DATE_TIME.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _number_check(name: str):
    limit = _NUMBER_LIMITS[name]

    def check(value) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return True  # a wrong type is reported by the type check
        if name.startswith("int"):
            return isinstance(value, int) and -limit - 1 <= value <= limit
        return abs(value) <= limit and math.isfinite(value)

    return check


for _name in _NUMBER_LIMITS:
    FORMATS.checks(_name)(_number_check(_name))


@cache
def spec() -> dict:
    return json.loads(SPEC_PATH.read_text())


def _to_json_schema(node):
    """OpenAPI 3.0 `nullable: true` becomes a JSON Schema type union; everything else passes through."""
    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _to_json_schema(value) for key, value in node.items() if key != "example"}
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
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": _components()}
    return Draft7Validator(schema, format_checker=FORMATS)


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
        elif error.validator == "format":
            message = f"The value '{error.instance}' is not a valid {error.validator_value}."
        else:
            message = f"The value is not valid ({error.validator})."
        problems.append((path or "body", _ERROR_CODES.get(str(error.validator), "0003-InvalidValue"), message))
    return problems


def response_errors(schema_name: str, body) -> list[str]:
    """Messages for every way a response body breaks its schema (used by the sandbox's own tests)."""
    return [f"{_property_path(e.absolute_path)}: {e.message}" for e in validator(schema_name).iter_errors(body)]

"""The OpenAPI description of the JSON API: parameters, bodies and every status it answers.

Written out by hand because the routes send Kue's JSON as it is (no response models),
and exact: schemathesis (tests/pykue/test_dashboard_schema.py) checks that what the
schema calls valid is accepted and what it calls invalid is refused.
"""

from __future__ import annotations

from typing import Any

from pykue.job import PRIORITIES
from pykue.keys import STATES
from pykue.web.params import MAX_TYPE

LONGEST = 2**40 - 1  # attempts, delay and ttl (ms) are stored exactly below 2^40

PRIORITY_PATTERN = (  # a name or an integer in -4095..4095
    "^(low|normal|medium|high|critical|-?(0|[1-9][0-9]{0,2}|[1-3][0-9]{3}|40[0-8][0-9]|409[0-5]))$"
)

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
}
MESSAGE = {
    "type": "object",
    "required": ["message"],
    "properties": {"message": {"type": "string"}},
}
CREATED = {
    "type": "object",
    "required": ["message", "id"],
    "properties": {"message": {"const": "job created"}, "id": {"type": "integer"}},
}
TEXT = {"type": "string"}
JOB = {
    "type": "object",
    "description": "A job as Kue 0.11.6 sends it (times, delay, ttl and duration as strings)",
    "required": ["id", "type", "data", "priority", "progress", "state", "attempts"],
    "properties": {
        "id": {"type": ["string", "integer"]},
        "type": TEXT,
        "data": {},
        "result": {},
        "priority": {"type": "integer"},
        "progress": {"type": ["string", "integer"]},
        "progress_data": {},
        "state": TEXT,
        "error": TEXT,
        **{name: TEXT for name in ("created_at", "promote_at", "updated_at", "failed_at")},
        **{name: TEXT for name in ("started_at", "completed_at", "duration", "delay", "ttl")},
        "attempts": {
            "type": "object",
            "properties": {k: {"type": "integer"} for k in ("made", "remaining", "max")},
        },
        "stalls": {"type": "integer"},
    },
}
OPTIONS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "priority": {
            "anyOf": [
                {"enum": list(PRIORITIES)},
                {"type": "integer", "minimum": -4095, "maximum": 4095},
            ]
        },
        "attempts": {"type": "integer", "minimum": 1, "maximum": LONGEST},
        "delay": {"type": "integer", "minimum": 0, "maximum": LONGEST, "description": "ms"},
        "ttl": {"type": "integer", "minimum": 0, "maximum": LONGEST, "description": "ms"},
        "backoff": {
            "anyOf": [
                {"type": "boolean"},
                {
                    "type": "object",
                    "properties": {
                        "type": {"enum": ["fixed", "exponential"]},
                        "delay": {"type": "integer", "minimum": 0, "maximum": LONGEST},
                    },
                },
            ]
        },
        "removeOnComplete": {"type": "boolean"},
        "searchKeys": {
            "description": "accepted for Kue's clients; the search reads all data",
            "anyOf": [TEXT, {"type": "array", "items": TEXT}],
        },
    },
}
JOB_SPEC = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "minLength": 1, "maxLength": MAX_TYPE},
        "data": {"description": "any JSON (nested at most 64 levels)"},
        "options": {"anyOf": [OPTIONS, {"type": "null"}]},
    },
}
NOTHING = {"description": "an empty body: nothing to create (Kue: 204)"}
JOB_BODY = {
    "anyOf": [
        JOB_SPEC,
        {"type": "array", "items": JOB_SPEC, "maxItems": 1000},
        {"type": "object", "maxProperties": 0, **NOTHING},
        {"type": "null", **NOTHING},
    ]
}
SESSION_BODY = {
    "type": "object",
    "required": ["token"],
    "properties": {"token": {"type": "string", "maxLength": 1000}},
}


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def reply(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """One documented response."""
    return {"description": description, **(json_content(schema) if schema else {})}


def body(schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads a JSON body with ``schema``."""
    content = {"schema": schema, **({"example": example} if example is not None else {})}
    return {"requestBody": {"required": True, "content": {"application/json": content}}}


BAD = {400: reply("Bad input (the reason is in the body)", ERROR)}
NO_JOB = {404: reply("No such job", ERROR)}
NO_TOKEN = {401: reply("The dashboard's token is required for changes", ERROR)}
CHANGED = {409: reply("The job kept changing state meanwhile; try again", ERROR)}


def responses(*groups: dict[int, Any]) -> dict[int | str, Any]:
    merged: dict[int | str, Any] = {}
    for group in groups:
        merged.update(group)
    return merged


def path(pattern: str | None = None, *, enum: tuple[str, ...] = (), **extra: Any) -> dict:
    """``json_schema_extra`` of a path parameter (documented here, checked by params.py)."""
    schema: dict[str, Any] = dict(extra)
    if pattern:
        schema["pattern"] = pattern
    if enum:
        schema["enum"] = list(enum)
    return schema


STATE = path(enum=STATES)
TYPE = path(minLength=1, maxLength=MAX_TYPE)

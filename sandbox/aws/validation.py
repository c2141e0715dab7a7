"""Input validation driven by the botocore service model.

Every constraint checked here (required members, types, string/list/map lengths, numeric
ranges, patterns, enums, unions) is read from the botocore shapes, so the sandbox rejects
exactly what the model says AWS rejects, with AWS's ValidationException wording
("1 validation error detected: Value ... at 'name' failed to satisfy constraint: ...").
"""

from __future__ import annotations

import functools
import re
from typing import Any

import botocore.session
from botocore.model import ServiceModel, Shape


@functools.cache
def service_model(service: str) -> ServiceModel:
    session = botocore.session.get_session()
    return ServiceModel(session.get_service_data(service), service_name=service)


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _fmt(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    return repr(value)


def _check(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    meta = shape.metadata
    t = shape.type_name
    if value is None:
        return
    if t == "structure":
        if not isinstance(value, dict):
            errors.append(
                f"Value {_fmt(value)} at '{path}' failed to satisfy constraint: Member must be a structure"
            )
            return
        if meta.get("union"):
            present = [
                k for k, v in value.items() if v is not None and k in shape.members
            ]
            if len(present) != 1:
                errors.append(
                    f"Value at '{path}' failed to satisfy constraint: Member must have exactly one of "
                    f"{sorted(shape.members)} set"
                )
        for req in shape.required_members:
            if value.get(req) is None:
                errors.append(
                    f"Value null at '{_join(path, req)}' failed to satisfy constraint: Member must not be null"
                )
        for key, sub in value.items():
            if key in shape.members:
                _check(shape.members[key], sub, _join(path, key), errors)
        return
    if t == "list":
        if not isinstance(value, list):
            errors.append(
                f"Value {_fmt(value)} at '{path}' failed to satisfy constraint: Member must be a list"
            )
            return
        _length(meta, len(value), value, path, errors)
        for i, item in enumerate(value):
            _check(shape.member, item, f"{path}.{i + 1}.member", errors)
        return
    if t == "map":
        if not isinstance(value, dict):
            errors.append(
                f"Value {_fmt(value)} at '{path}' failed to satisfy constraint: Member must be a map"
            )
            return
        _length(meta, len(value), value, path, errors)
        for k, v in value.items():
            _check(shape.key, k, f"{path}.key", errors)
            _check(shape.value, v, f"{path}.{k}", errors)
        return
    if t == "string":
        if not isinstance(value, str):
            errors.append(
                f"Value {_fmt(value)} at '{path}' failed to satisfy constraint: Member must be a string"
            )
            return
        if shape.enum and value not in shape.enum:
            errors.append(
                f"Value {_fmt(value)} at '{path}' failed to satisfy constraint: Member must satisfy enum value set: "
                f"[{', '.join(shape.enum)}]"
            )
            return
        _length(meta, len(value), value, path, errors)
        pattern = meta.get("pattern")
        if pattern is not None and _compiled(pattern).fullmatch(value) is None:
            errors.append(
                f"Value {_fmt(value)} at '{path}' failed to satisfy constraint: Member must satisfy regular "
                f"expression pattern: {pattern}"
            )
        return
    if t in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(
                f"Value {_fmt(value)} at '{path}' failed to satisfy constraint: Member must be an integer"
            )
            return
        _range(meta, value, path, errors)
        return
    if t in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            errors.append(
                f"Value {_fmt(value)} at '{path}' failed to satisfy constraint: Member must be a number"
            )
            return
        _range(meta, value, path, errors)
        return
    if t == "boolean":
        if not isinstance(value, bool):
            errors.append(
                f"Value {_fmt(value)} at '{path}' failed to satisfy constraint: Member must be a boolean"
            )
        return
    if t == "timestamp" and (
        isinstance(value, bool) or not isinstance(value, (int, float, str))
    ):
        errors.append(
            f"Value {_fmt(value)} at '{path}' failed to satisfy constraint: Member must be a timestamp"
        )


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _length(
    meta: dict[str, Any], n: int, value: Any, path: str, errors: list[str]
) -> None:
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and n < lo:
        errors.append(
            f"Value {_fmt(value)} at '{path}' failed to satisfy constraint: Member must have length greater than "
            f"or equal to {lo}"
        )
    if hi is not None and n > hi:
        errors.append(
            f"Value {_fmt(value)} at '{path}' failed to satisfy constraint: Member must have length less than "
            f"or equal to {hi}"
        )


def _range(meta: dict[str, Any], value: float, path: str, errors: list[str]) -> None:
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and value < lo:
        errors.append(
            f"Value {_fmt(value)} at '{path}' failed to satisfy constraint: Member must have value greater than "
            f"or equal to {lo}"
        )
    if hi is not None and value > hi:
        errors.append(
            f"Value {_fmt(value)} at '{path}' failed to satisfy constraint: Member must have value less than "
            f"or equal to {hi}"
        )


def validate_input(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    """Return the list of constraint violations of ``params`` against the operation's input shape."""
    op = service_model(service).operation_model(operation)
    errors: list[str] = []
    if op.input_shape is not None:
        _check(op.input_shape, params, "", errors)
    return errors


def format_errors(errors: list[str]) -> str:
    n = len(errors)
    return f"{n} validation error{'s' if n != 1 else ''} detected: " + "; ".join(errors)


def error_status(service: str, code: str, default: int = 400) -> int:
    """HTTP status of an error shape, from the model."""
    model = service_model(service)
    try:
        shape = model.shape_for(code)
    except Exception:  # noqa: BLE001 - unknown shape name
        return default
    return int(shape.metadata.get("error", {}).get("httpStatusCode", default))


def shape_metadata(service: str, shape_name: str) -> dict[str, Any]:
    return dict(service_model(service).shape_for(shape_name).metadata)

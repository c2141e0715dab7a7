"""IAM identity-policy evaluation for the sandbox: what a role's inline and attached policies allow.

The sandbox uses it to refuse, with AWS's AccessDenied, a call made with a Lambda function's
credentials that the function's execution role does not allow (see lambda_exec.py). It follows
AWS's evaluation logic for identity policies alone: an explicit Deny wins, else an Allow allows,
else the call is implicitly denied. ``Action``/``NotAction`` match case-insensitively and
``Resource``/``NotResource`` case-sensitively, both with the ``*`` and ``?`` wildcards.

Limits (documented in docs/architecture.md): no resource policies, permission boundaries, SCPs or
session policies; a statement with a ``Condition`` is not evaluated: an Allow with a condition does
not allow, a Deny with a condition denies (the cautious reading, so the sandbox never allows what
AWS might refuse).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

ALLOWED = "allowed"
EXPLICIT_DENY = "explicitDeny"
IMPLICIT_DENY = "implicitDeny"


@lru_cache(maxsize=1024)
def _pattern(glob: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(
        ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob
    )
    return re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def matches(glob: str, value: str, ignore_case: bool = False) -> bool:
    """Whether ``value`` matches the IAM wildcard pattern ``glob`` (``*``, ``?``)."""
    return bool(_pattern(glob, ignore_case).match(value))


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _statement_applies(statement: dict[str, Any], action: str, resource: str) -> bool:
    if "Action" in statement:
        action_ok = any(matches(a, action, True) for a in _as_list(statement["Action"]))
    elif "NotAction" in statement:
        action_ok = not any(matches(a, action, True) for a in _as_list(statement["NotAction"]))
    else:
        action_ok = False
    if not action_ok:
        return False
    if "Resource" in statement:
        return any(matches(r, resource) for r in _as_list(statement["Resource"]))
    if "NotResource" in statement:
        return not any(matches(r, resource) for r in _as_list(statement["NotResource"]))
    return False


def parse_document(document: str | dict[str, Any]) -> dict[str, Any]:
    """A policy document as stored by IAM (JSON text, possibly URL-encoded) as a dict."""
    if isinstance(document, dict):
        return document
    text = document.strip()
    if not text.startswith("{"):
        text = unquote(text)
    return json.loads(text)


def evaluate(documents: Iterable[str | dict[str, Any]], action: str, resource: str) -> str:
    """``allowed``, ``explicitDeny`` or ``implicitDeny`` for ``action`` on ``resource``."""
    allowed = False
    for document in documents:
        statements = parse_document(document).get("Statement", [])
        if isinstance(statements, dict):
            statements = [statements]
        for statement in statements:
            effect = statement.get("Effect")
            conditional = bool(statement.get("Condition"))
            if not _statement_applies(statement, action, resource):
                continue
            if effect == "Deny":
                return EXPLICIT_DENY
            if effect == "Allow" and not conditional:
                allowed = True
    return ALLOWED if allowed else IMPLICIT_DENY


def role_documents(account: str, role_name: str) -> list[str | dict[str, Any]]:
    """The identity policies of a role in moto's IAM: inline ones, then attached managed ones."""
    from moto.backends import get_backend

    iam = get_backend("iam")[account]["global"]
    role = iam.get_role(role_name)
    documents: list[str | dict[str, Any]] = list(role.policies.values())
    for policy in role.managed_policies.values():
        for version in policy.versions:
            if version.is_default:
                documents.append(version.document)
    return documents


def role_allows(account: str, role_name: str, action: str, resource: str) -> str:
    """The decision of the role's identity policies; a role that no longer exists allows nothing."""
    try:
        documents = role_documents(account, role_name)
    except Exception:  # noqa: BLE001 - moto raises NoSuchEntity: no role, no permission
        return IMPLICIT_DENY
    return evaluate(documents, action, resource)


__all__ = ["ALLOWED", "EXPLICIT_DENY", "IMPLICIT_DENY", "evaluate", "matches", "parse_document",
           "role_allows", "role_documents"]

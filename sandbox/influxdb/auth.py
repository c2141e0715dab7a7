"""Authentication and authorization as InfluxDB 2.x does it.

- Tokens are 64 random bytes, URL-safe base64 (88 characters, as InfluxDB's). Only a SHA-256 hash
  is stored (the hashed-token mode of InfluxDB 2.8+, see GUIDE §8): the value is returned once,
  when the authorization is created, and never again.
- Passwords are stored as salted PBKDF2-SHA256 hashes.
- Permission matching is InfluxDB's ``Permission.Matches``: a granted permission without org and
  id matches every resource of its type; with an org only, every resource of that org; with an
  id, that resource. Write does not imply read.
- A session (``/api/v2/signin``) carries the permissions of every authorization the user owns
  (active or not, as InfluxDB's session service does), the owner/member permissions of the user's
  organizations, and the user's own ``users`` permissions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

ALL_TYPES = (
    "authorizations", "buckets", "dashboards", "orgs", "tasks", "telegrafs", "users", "variables",
    "secrets", "labels", "views", "documents", "notificationRules", "notificationEndpoints", "checks",
    "dbrp", "annotations", "sources", "scrapers", "notebooks", "remotes", "replications", "instance",
    "flows", "functions", "subscriptions",
)
# The types an org-scoped all-access token grants (InfluxDB's OwnerPermissions: all but instance).
ORG_TYPES = tuple(t for t in ALL_TYPES if t != "instance")

PBKDF2_ITERATIONS = 50_000
SESSION_SECONDS = 3600
SESSION_COOKIE = "influxdb-oss-session"


def new_token() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(64)).decode()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, PBKDF2_ITERATIONS)
    return f"pbkdf2_sha256${PBKDF2_ITERATIONS}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        scheme, iterations, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256":
        return False
    got = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations))
    return hmac.compare_digest(got.hex(), digest)


def validate_password(password: object) -> str | None:
    """InfluxDB's rule; returns the error message or None."""
    if not isinstance(password, str) or len(password) < 8:
        return "passwords must be at least 8 characters long"
    if len(password) > 72:
        return "passwords must be at most 72 characters long"
    return None


def perm(action: str, rtype: str, org_id: str | None = None, rid: str | None = None) -> dict:
    resource: dict = {"type": rtype}
    if rid:
        resource["id"] = rid
    if org_id:
        resource["orgID"] = org_id
    return {"action": action, "resource": resource}


def operator_permissions() -> list[dict]:
    return [perm(a, t) for t in ALL_TYPES for a in ("read", "write")]


def owner_permissions(org_id: str) -> list[dict]:
    """InfluxDB's OwnerPermissions: every type scoped to the org, the org itself by id."""
    return [perm(a, t, rid=org_id) if t == "orgs" else perm(a, t, org_id)
            for t in ORG_TYPES for a in ("read", "write")]


def member_permissions(org_id: str) -> list[dict]:
    """InfluxDB's MemberPermissions: read on every type of the org, the org itself by id."""
    return [perm("read", t, rid=org_id) if t == "orgs" else perm("read", t, org_id) for t in ORG_TYPES]


def me_permissions(user_id: str) -> list[dict]:
    return [perm("read", "users", rid=user_id), perm("write", "users", rid=user_id)]


def matches(granted: dict, action: str, rtype: str, org_id: str | None, rid: str | None) -> bool:
    """InfluxDB's Permission.Matches(granted, requested)."""
    if granted.get("action") != action:
        return False
    res = granted.get("resource") or {}
    if res.get("type") != rtype:
        return False
    g_org, g_id = res.get("orgID"), res.get("id")
    if not g_org and not g_id:
        return True
    if g_org and not g_id and org_id and g_org == org_id:
        return True
    if g_id and rid and g_id == rid:
        return True
    return False


@dataclass
class Principal:
    """Who is calling, and with which permissions."""

    kind: str  # "token" or "session"
    user_id: str
    permissions: list[dict] = field(default_factory=list)
    authorization: dict | None = None  # for tokens
    session_key_hash: str | None = None

    def allowed(self, action: str, rtype: str, org_id: str | None = None, rid: str | None = None) -> bool:
        return any(matches(p, action, rtype, org_id, rid) for p in self.permissions)

    def permission_allowed(self, p: dict) -> bool:
        res = p.get("resource") or {}
        return self.allowed(p.get("action", ""), res.get("type", ""), res.get("orgID"), res.get("id"))

    @property
    def is_operator(self) -> bool:
        return all(self.allowed(a, t) for t in ALL_TYPES for a in ("read", "write"))


def permission_string(action: str, rtype: str, org_id: str | None, rid: str | None) -> str:
    """InfluxDB's Permission.String(): ``write:orgs/<org>/buckets/<id>``."""
    path = ""
    if org_id:
        path = f"orgs/{org_id}/"
    path += rtype
    if rid:
        path += f"/{rid}"
    return f"{action}:{path}"

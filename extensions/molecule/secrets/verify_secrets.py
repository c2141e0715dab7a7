"""Verify the secrets role's work through the AWS APIs (boto3) and InfluxDB's HTTP API.

Usage: python verify_secrets.py '<json settings>' (see verify.yml). Prints what it checked, never a
secret value; exits 1 listing every check that failed.
"""

from __future__ import annotations

import base64
import json
import sys
import urllib.error
import urllib.request
from typing import Any

import boto3


def http(url: str, method: str = "GET", headers: dict[str, str] | None = None, body: bytes | None = None) -> tuple[int, Any]:
    """(status, parsed JSON body or None) of one request; HTTP errors are answers, not exceptions."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the sandbox's http URL
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


def main(settings: dict[str, Any]) -> list[str]:
    failures: list[str] = []

    def check(ok: bool, what: str) -> None:
        print(("ok    " if ok else "FAIL  ") + what)
        if not ok:
            failures.append(what)

    session = boto3.session.Session(
        region_name=settings["region"],
        aws_access_key_id=settings.get("access_key") or None,
        aws_secret_access_key=settings.get("secret_key") or None,
    )
    endpoint = settings.get("endpoint_url") or None
    sm = session.client("secretsmanager", endpoint_url=endpoint)
    tsi = session.client("timestream-influxdb", endpoint_url=endpoint)

    summaries = [s for s in tsi.list_db_instances()["items"] if s["name"] == settings["instance_name"]]
    instance = tsi.get_db_instance(identifier=summaries[0]["id"])
    url = f"{settings['url_scheme']}://{instance['endpoint']}:{instance.get('port', 8086)}"

    values = {}
    for kind, name in settings["secrets"].items():
        described = sm.describe_secret(SecretId=name)
        tags = {t["Key"]: t["Value"] for t in described.get("Tags", [])}
        versions = sm.list_secret_version_ids(SecretId=name)["Versions"]
        check(described.get("KmsKeyId") == settings["kms_key_arn"], f"{name} is encrypted with the platform key")
        check(tags.get("Name") == f"{settings['name_prefix']}-influxdb-{kind}"
              and all(tags.get(k) == v for k, v in settings["tags"].items()), f"{name} is tagged")
        check(len(versions) == 1, f"{name} has one version after converge and idempotence ({len(versions)})")
        values[kind] = json.loads(sm.get_secret_value(SecretId=name)["SecretString"])

    admin = values["admin"]
    check(sorted(admin) == ["bucket", "endpoint", "org", "password", "port", "url", "username"],
          f"the admin secret holds {sorted(admin)}")
    check(admin["url"] == url and admin["endpoint"] == instance["endpoint"] and admin["port"] == instance.get("port", 8086),
          "the admin secret names the instance's endpoint, port and URL")
    basic = base64.b64encode(f"{admin['username']}:{admin['password']}".encode()).decode()
    status, _body = http(f"{url}/api/v2/signin", "POST", {"Authorization": f"Basic {basic}"})
    check(status == 204, f"the admin secret's username and password sign in to InfluxDB ({status})")

    for kind in ("operator-token", "lambda-token"):
        value = values[kind]
        check(sorted(value) == ["authorization_id", "bucket", "endpoint", "org", "port", "token", "url"],
              f"the {kind} secret holds {sorted(value)}")
        check(value["url"] == url and value["org"] == settings["org"] and value["bucket"] == settings["bucket"],
              f"the {kind} secret names the instance's URL, the org and the bucket")

    operator = {"Authorization": f"Token {values['operator-token']['token']}"}
    lambda_ = {"Authorization": f"Token {values['lambda-token']['token']}"}
    status, body = http(f"{url}/api/v2/authorizations", headers=operator)
    check(status == 200, f"the operator token lists the authorizations ({status})")
    auths = (body or {}).get("authorizations", [])
    by_description: dict[str, list[dict[str, Any]]] = {}
    for auth in auths:
        by_description.setdefault(auth.get("description", ""), []).append(auth)
    for kind, description in settings["descriptions"].items():
        found = by_description.get(description, [])
        check(len(found) == 1, f"exactly one authorization is described {description!r} ({len(found)})")
        if found:
            check(found[0]["id"] == values[kind]["authorization_id"] and found[0]["status"] == "active",
                  f"the {kind} secret's authorization_id is that active authorization")
    status, body = http(f"{url}/api/v2/buckets?name={settings['bucket']}", headers=operator)
    bucket_id = ((body or {}).get("buckets") or [{}])[0].get("id")
    lambda_auth = (by_description.get(settings["descriptions"]["lambda-token"]) or [{}])[0]
    granted = sorted((p["action"], p["resource"]["type"], p["resource"].get("id")) for p in lambda_auth.get("permissions", []))
    check(granted == [("read", "buckets", bucket_id), ("write", "buckets", bucket_id)],
          f"the Lambda token may read and write the bucket {settings['bucket']} only")

    write_url = f"{url}/api/v2/write?org={settings['org']}&bucket={settings['bucket']}&precision=s"
    status, _body = http(write_url, "POST", lambda_, b"verify,source=molecule value=1i 1700000000")
    check(status == 204, f"the Lambda token writes a point to {settings['bucket']} ({status})")
    forbidden = json.dumps({"name": "forbidden", "orgID": lambda_auth.get("orgID", "")}).encode()
    status, _body = http(f"{url}/api/v2/buckets", "POST", {**lambda_, "Content-Type": "application/json"}, forbidden)
    check(status in (401, 403), f"the Lambda token cannot create a bucket ({status})")
    status, _body = http(f"{url}/api/v2/me", headers=operator)
    check(status == 200, f"the operator token reads /api/v2/me ({status})")
    return failures


if __name__ == "__main__":
    failed = main(json.loads(sys.argv[1]))
    if failed:
        print(f"{len(failed)} check(s) failed", file=sys.stderr)
        sys.exit(1)

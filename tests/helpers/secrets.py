"""Search outputs and files for secret values, in every form a leak takes.

    assert_no_secret([run.stdout, run.stderr, workdir / "outputs", plan_file], [password, token])
    assert_no_secret([run.stdout, *files_written_since(started, workdir)], [password, token])

A text is searched as is; a path is searched whole (a directory: every file under it). Each secret
is looked for plain, base64-encoded (also inside a longer base64 string such as an HTTP Basic
``user:password`` header: the aligned inner part of its encoding at each of the three offsets),
URL-encoded (``%XX`` and ``+`` forms) and JSON-escaped.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Iterable
from pathlib import Path

# A fragment shorter than this could match by chance: it is not searched for.
MIN_FORM = 12


def secret_forms(secret: str) -> dict[str, str]:
    """The forms of ``secret`` a leak can take, by name: {"plain": ..., "base64": ..., ...}."""
    raw = secret.encode()
    forms = {
        "plain": secret,
        "json": json.dumps(secret)[1:-1],
        "url": urllib.parse.quote(secret, safe=""),
        "url-plus": urllib.parse.quote_plus(secret),
        "base64": base64.b64encode(raw).decode(),
        "base64-url": base64.urlsafe_b64encode(raw).decode(),
    }
    for offset in (0, 1, 2):
        # The part of base64(prefix + secret) that only the secret's bytes decide, whatever prefix is.
        encoded = base64.b64encode(b"\0" * offset + raw).decode()
        start = -(-offset // 3) * 4
        end = (offset + len(raw)) // 3 * 4
        forms[f"base64-inner-{offset}"] = encoded[start:end]
    return {name: form for name, form in forms.items() if len(form) >= MIN_FORM}


def files_written_since(started: float, *roots: Path) -> list[Path]:
    """Every file under ``roots`` and under the checkout's .ansible/ and outputs/ (where a playbook run
    from it writes its temporary files and outputs) modified at or after ``started`` (time.time())."""
    from tests.helpers.ansible import REPO

    tops = [*roots, REPO / ".ansible", REPO / "outputs"]
    return sorted({p for top in tops if top.is_dir() for p in top.rglob("*")
                   if p.is_file() and p.stat().st_mtime >= started})


def _texts(texts_and_paths: Iterable[str | Path]) -> Iterable[tuple[str, str]]:
    for item in texts_and_paths:
        if isinstance(item, Path):
            files = sorted(p for p in item.rglob("*") if p.is_file()) if item.is_dir() else [item] if item.exists() else []
            for path in files:
                yield str(path), path.read_bytes().decode("utf-8", errors="replace")
        else:
            yield "text", item


def find_secrets(texts_and_paths: Iterable[str | Path], secrets: Iterable[str]) -> list[str]:
    """Where a form of a secret occurs: ["<where>: <form name> of secret #<n>", ...] (never the value)."""
    forms = [(index, name, form) for index, secret in enumerate(s for s in secrets if s)
             for name, form in secret_forms(secret).items()]
    hits = []
    for where, text in _texts(texts_and_paths):
        hits += [f"{where}: {name} of secret #{index}" for index, name, form in forms if form in text]
    return hits


def assert_no_secret(texts_and_paths: Iterable[str | Path], secrets: Iterable[str]) -> None:
    secrets = [s for s in secrets if s]
    assert secrets, "no secret to search for: the test read none"
    hits = find_secrets(texts_and_paths, secrets)
    assert hits == [], f"secret values found: {hits}"

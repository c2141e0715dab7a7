"""The sandbox's command line.

    python -m sandbox serve  [--host 127.0.0.1] [--port N] [--state-dir DIR] [--delay S] [--no-influx]
    python -m sandbox start  [same options]     # detached; idempotent
    python -m sandbox stop
    python -m sandbox status                    # exit 0 and print the endpoint if running

``serve`` prints ``READY http://127.0.0.1:<port>`` on stdout once it listens. The port defaults to
$SANDBOX_PORT or 4566 (``--port 0`` picks a free one), the state directory to $SANDBOX_STATE_DIR or
``.sandbox``, the lifecycle delay to $SANDBOX_DELAY or 1 second.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0


def _default_port() -> int:
    return int(os.environ.get("SANDBOX_PORT", "4566"))


def _default_state_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("SANDBOX_STATE_DIR", ".sandbox"))


def _default_delay() -> float:
    return float(os.environ.get("SANDBOX_DELAY", "1"))


def _paths(state_dir: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path, pathlib.Path]:
    return state_dir / "aws.pid", state_dir / "aws.log", state_dir / "aws.json"


def _healthy(endpoint: str, pid: int | None = None, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(
            f"{endpoint}/_sandbox/health", timeout=timeout
        ) as resp:
            data = json.loads(resp.read())
    except (OSError, ValueError, urllib.error.URLError):
        return False
    return data.get("status") == "ok" and (pid is None or data.get("pid") == pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _running(state_dir: pathlib.Path) -> tuple[int, str] | None:
    """(pid, endpoint) of the live sandbox the state dir names, else None."""
    pidfile, _, infofile = _paths(state_dir)
    try:
        pid = int(pidfile.read_text().strip())
        endpoint = json.loads(infofile.read_text())["endpoint"]
    except (OSError, ValueError, KeyError):
        return None
    if _alive(pid) and _healthy(endpoint, pid):
        return pid, endpoint
    return None


def cmd_serve(args: argparse.Namespace) -> int:
    from sandbox.aws.server import SandboxServer, install_influx

    state_dir = pathlib.Path(args.state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    if not args.no_influx and install_influx(state_dir):
        print("sandbox.influxdb installed", file=sys.stderr, flush=True)
    server = SandboxServer(args.host, args.port, delay=args.delay)

    def on_signal(signum: int, _frame: object) -> None:
        threading.Thread(target=server.server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"READY {server.endpoint}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.close()
    print("sandbox stopped", file=sys.stderr, flush=True)
    return 0


def _serve_argv(args: argparse.Namespace, state_dir: pathlib.Path) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "sandbox",
        "serve",
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--state-dir",
        str(state_dir),
        "--delay",
        str(args.delay),
    ]
    if args.no_influx:
        argv.append("--no-influx")
    return argv


def cmd_start(args: argparse.Namespace) -> int:
    state_dir = pathlib.Path(args.state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    running = _running(state_dir)
    if running:
        print(running[1])
        return 0
    pidfile, logfile, infofile = _paths(state_dir)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    env["PYTHONUNBUFFERED"] = "1"
    with open(logfile, "ab") as log:
        log.write(f"--- start {time.strftime('%Y-%m-%dT%H:%M:%S')}\n".encode())
        log.flush()
        offset = log.tell()
        proc = subprocess.Popen(
            _serve_argv(args, state_dir),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            cwd=str(REPO_ROOT),
            env=env,
            start_new_session=True,
        )
    pidfile.write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + START_TIMEOUT
    endpoint = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if endpoint is None:
            with open(logfile, "rb") as log:
                log.seek(offset)
                for line in log.read().decode("utf-8", "replace").splitlines():
                    if line.startswith("READY "):
                        endpoint = line.split(" ", 1)[1].strip()
        if endpoint and _healthy(endpoint, proc.pid):
            infofile.write_text(json.dumps({"pid": proc.pid, "endpoint": endpoint}))
            print(endpoint)
            return 0
        time.sleep(0.1)
    tail = logfile.read_text(errors="replace").splitlines()[-30:]
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
    pidfile.unlink(missing_ok=True)
    print(
        "sandbox did not become healthy; log tail:\n" + "\n".join(tail), file=sys.stderr
    )
    return 1


def cmd_stop(args: argparse.Namespace) -> int:
    state_dir = pathlib.Path(args.state_dir).resolve()
    pidfile, _, infofile = _paths(state_dir)
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        print("sandbox not running")
        return 0
    if _alive(pid) and not _is_sandbox(pid, state_dir):
        print(
            f"PID {pid} in {pidfile} is not this sandbox; not signalling it",
            file=sys.stderr,
        )
    elif _alive(pid):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and _alive(pid):
            _reap(pid)
            time.sleep(0.1)
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _reap(pid)
    pidfile.unlink(missing_ok=True)
    infofile.unlink(missing_ok=True)
    print("sandbox stopped")
    return 0


def _is_sandbox(pid: int, state_dir: pathlib.Path) -> bool:
    """Whether ``pid`` runs ``-m sandbox serve`` for this state dir (a stale pidfile's PID may have
    been reused by an unrelated process)."""
    try:
        argv = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc: trust the pidfile
    args = [a.decode(errors="replace") for a in argv]
    return "sandbox" in args and "serve" in args and str(state_dir) in args


def _reap(pid: int) -> None:
    """Collect the exit status if the sandbox is our child (so it does not linger as a zombie)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def cmd_status(args: argparse.Namespace) -> int:
    running = _running(pathlib.Path(args.state_dir).resolve())
    if running:
        print(running[1])
        return 0
    print("sandbox not running", file=sys.stderr)
    return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox", description="Local stand-in for AWS."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("serve", "run in the foreground"),
        ("start", "start detached (idempotent)"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, default=_default_port())
        p.add_argument("--state-dir", default=str(_default_state_dir()))
        p.add_argument(
            "--delay",
            type=float,
            default=_default_delay(),
            help="seconds per lifecycle transition",
        )
        p.add_argument(
            "--no-influx", action="store_true", help="do not install sandbox.influxdb"
        )
    for name, help_text in (
        ("stop", "stop the detached sandbox"),
        ("status", "exit 0 if running"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--state-dir", default=str(_default_state_dir()))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "delay", 0) < 0:
        print("--delay must be >= 0", file=sys.stderr)
        return 2
    return {
        "serve": cmd_serve,
        "start": cmd_start,
        "stop": cmd_stop,
        "status": cmd_status,
    }[args.command](args)


if __name__ == "__main__":
    sys.exit(main())

"""Run one standalone sandbox InfluxDB v2 server.

    python -m sandbox.influxdb serve --port 0 --data-dir DIR [--tls] [--setup user:pass:org:bucket]

Prints ``READY http(s)://127.0.0.1:<port>`` (and ``CA <path>`` with --tls) once listening, and
``TOKEN <operator token>`` when --setup onboarded it now. SIGTERM or SIGINT stops it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from .server import InfluxServer
from .tls import ensure_tls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.influxdb")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run one server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--data-dir", required=True, type=Path)
    serve.add_argument("--tls", action="store_true", help="serve HTTPS with a generated CA")
    serve.add_argument("--tls-dir", type=Path, help="where the CA and certificate go (default DATA_DIR/tls)")
    serve.add_argument("--setup", metavar="USER:PASSWORD:ORG:BUCKET",
                       help="onboard at start (skipped if the data dir is already set up)")
    serve.add_argument("--token", help="operator token to use with --setup")
    serve.add_argument("--max-body-bytes", type=int, default=25_000_000)
    serve.add_argument("--plain-tokens", action="store_true",
                       help="InfluxDB 2.7 behaviour: reads of an authorization return its token "
                            "(default: hashed tokens, shown only when created)")
    args = parser.parse_args(argv)

    tls = ensure_tls(args.tls_dir or args.data_dir / "tls") if args.tls else None
    server = InfluxServer(args.data_dir, host=args.host, port=args.port,
                          ssl_context=tls.server_context() if tls else None,
                          max_body_bytes=args.max_body_bytes, plain_tokens=args.plain_tokens)
    token = None
    if args.setup and not server.store.is_setup():
        parts = args.setup.split(":", 3)
        if len(parts) != 4:
            parser.error("--setup wants USER:PASSWORD:ORG:BUCKET")
        token = server.setup(parts[0], parts[1], parts[2], parts[3], token=args.token)["token"]
    server.bind()

    stopping = threading.Event()

    def on_signal(signum, frame):
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server._httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"READY {server.url}", flush=True)
    if tls:
        print(f"CA {tls.ca_cert}", flush=True)
    if token:
        print(f"TOKEN {token}", flush=True)
    try:
        server.serve_forever()
    finally:
        server._httpd.server_close()
        server._httpd = None
        server.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Build and run the sandbox's HTTP server (werkzeug, threaded, 127.0.0.1)."""

from __future__ import annotations

import importlib
import pathlib
import sys
import threading
from typing import Any

from sandbox.aws.app import SandboxApp
from sandbox.instance_servers import get_manager


def install_influx(state_dir: pathlib.Path) -> bool:
    """Let sandbox.influxdb install its instance-server manager, when it is there."""
    try:
        module = importlib.import_module("sandbox.influxdb")
    except ImportError:
        return False
    install = getattr(module, "install", None)
    if not callable(install):
        return False
    install(state_dir)
    return True


def _quiet_handler() -> Any:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class QuietRequestHandler(MotoRequestHandler):
        """Log only requests that failed (4xx/5xx); the request log has the rest."""

        def log_request(self, code: Any = "-", size: Any = "-") -> None:
            try:
                failed = int(getattr(code, "value", code)) >= 400
            except (TypeError, ValueError):
                failed = True
            if failed:
                super().log_request(code, size)

    return QuietRequestHandler


class SandboxServer:
    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, delay: float = 1.0
    ) -> None:
        from werkzeug.serving import make_server

        self.app = SandboxApp(delay=delay)
        self.server: Any = make_server(
            host, port, self.app, threaded=True, request_handler=_quiet_handler()
        )
        self.host, self.port = self.server.server_address[:2]
        self.app.server_info.update(host=self.host, port=self.port)
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def serve_forever(self) -> None:
        self.app.timestream.start_scheduler()
        self.server.serve_forever()

    def start_in_thread(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, name="sandbox-aws", daemon=True
        )
        self._thread.start()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop serving (call from another thread than the serving one), then close."""
        self.server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None
        self.close(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Stop the lifecycle scheduler and every instance server; close the socket. Idempotent.

        Final: first the manager is closed (when it can be: sandbox.influxdb's refuses to start
        servers from then on), then the scheduler is given ``timeout`` seconds to finish the
        transition it is in, then every server is stopped. A bring-up or restore still running
        after that fails instead of starting a server nobody stops."""
        if self._closed:
            return
        self._closed = True
        manager = get_manager()
        close_manager = getattr(manager, "close", None)
        if callable(close_manager):
            try:
                close_manager()
            except Exception as e:  # noqa: BLE001 - shutdown must go on
                print(
                    f"closing the instance-server manager failed: {e}", file=sys.stderr
                )
        self.app.timestream.stop_scheduler(timeout)
        self.app.lambda_exec.close()
        try:
            manager.stop_all()
        except Exception as e:  # noqa: BLE001 - shutdown must go on
            print(f"stop_all failed: {e}", file=sys.stderr)
        self.server.server_close()

"""`make run`: the whole system on embedded defaults, in the foreground until Ctrl-C.

Starts Redis when REDIS_URL is not set, migrates, seeds a demo organization, then runs the
Procfile's web, worker and beat under honcho. Ctrl-C stops every process started here.

Ports: WEB_PORT (or WEB_BIND, host:port; default 127.0.0.1:8000), REDIS_PORT (default 6379, or
a free port when 6379 is taken) and RECEIVER_PORT (the demo receiver, default 8001).
PUBLIC_BASE_URL, used in printed links and incoming webhook URLs, follows WEB_BIND unless set.
"""

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from devtools.redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = ["web", "worker", "beat", "receiver"]


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


class PortError(Exception):
    pass


def _port(env: dict, name: str) -> int | None:
    value = env.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise PortError(f"{name}={value!r} is not a port number (1-65535).")
    return int(value)


def configure_ports(env: dict) -> dict:
    """WEB_BIND from WEB_PORT, and PUBLIC_BASE_URL from WEB_BIND, when they are not set."""
    web_port = _port(env, "WEB_PORT")
    if not env.get("WEB_BIND"):
        env["WEB_BIND"] = f"127.0.0.1:{web_port or 8000}"
    elif web_port is not None:
        raise PortError("Set WEB_PORT or WEB_BIND, not both.")
    _port(env, "RECEIVER_PORT")
    if not env.get("PUBLIC_BASE_URL"):
        host, _, port = env["WEB_BIND"].rpartition(":")
        if host in {"", "0.0.0.0", "::", "[::]"}:
            host = "127.0.0.1"  # listening everywhere: link to this machine's loopback
        env["PUBLIC_BASE_URL"] = f"http://{host}:{port}"
    return env


def _redis_port(env: dict) -> int:
    chosen = _port(env, "REDIS_PORT")
    if chosen is not None:
        if not _port_free(chosen):
            raise PortError(f"REDIS_PORT={chosen}: the port is already in use.")
        return chosen
    return 6379 if _port_free(6379) else free_port()


def repeat_when_ready(base_url: str, summary: str, timeout: float = 180.0) -> None:
    """Prints the demo's summary (links, and the API key the first time) again once /healthz
    answers 200: printed before the processes start, it would be above their start-up logs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    print(f"\n=== Ready ==={summary}", end="", flush=True)
                    return
        except OSError:
            pass
        time.sleep(1)


def check_free(env: dict) -> None:
    """The web and receiver ports before anything starts: honcho stops every process when one
    exits, so a busy port would otherwise end the whole stack with a traceback in the noise."""
    web_port = int(env["WEB_BIND"].rpartition(":")[2])
    if not _port_free(web_port):
        raise PortError(f"port {web_port} (web) is already in use: set WEB_PORT to another.")
    receiver_port = _port(env, "RECEIVER_PORT") or 8001
    if not _port_free(receiver_port):
        raise PortError(f"port {receiver_port} (the demo receiver) is already in use: set "
                        "RECEIVER_PORT to another.")


def main() -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        env = configure_ports(dict(os.environ))
        redis_port = None if env.get("REDIS_URL") else _redis_port(env)
        check_free(env)
    except PortError as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 2
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    # The demo's webhook points at the local receiver on 127.0.0.1: allow loopback here only.
    env.setdefault("WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")
    redis = None
    if redis_port is not None:
        redis = RedisServer(data_dir=ROOT / ".local" / "redis", port=redis_port,
                            persistent=True)
        redis.start()
        env["REDIS_URL"] = redis.url
        print(f"Redis started on {redis.url} (data in .local/redis)", flush=True)
    manage = [sys.executable, "manage.py"]
    try:
        for command in (["migrate", "--noinput"], ["collectstatic", "--noinput", "-v0"]):
            subprocess.run(manage + command, cwd=ROOT, env=env, check=True)
        summary = subprocess.run(manage + ["seed_demo"], cwd=ROOT, env=env, check=True,
                                 stdout=subprocess.PIPE, text=True).stdout
        print(summary, end="", flush=True)
        honcho = subprocess.Popen(
            [sys.executable, "-m", "honcho", "-f", "Procfile", "start", *PROCESSES],
            cwd=ROOT, env=env,
        )
        threading.Thread(target=repeat_when_ready, args=(env["PUBLIC_BASE_URL"], summary),
                         daemon=True).start()
        try:
            return honcho.wait()
        except KeyboardInterrupt:
            # honcho got the same SIGINT (same process group) and is stopping its children.
            honcho.send_signal(signal.SIGINT)
            return honcho.wait()
    finally:
        if redis is not None:
            redis.stop()
            print("Redis stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())

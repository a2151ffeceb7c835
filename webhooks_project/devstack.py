"""`make run`: the whole system on embedded defaults, in the foreground until Ctrl-C.

Starts Redis when REDIS_URL is not set, migrates, seeds a demo organization, then runs the
Procfile's web, worker and beat under honcho. Ctrl-C stops every process started here.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

from webhooks_project.redis_server import RedisServer, free_port

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = ["web", "worker", "beat", "receiver"]


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    # The demo's webhook points at the local receiver on 127.0.0.1: allow loopback here only.
    env.setdefault("WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")
    redis = None
    if not env.get("REDIS_URL"):
        port = 6379 if _port_free(6379) else free_port()
        redis = RedisServer(data_dir=ROOT / ".local" / "redis", port=port, persistent=True)
        redis.start()
        env["REDIS_URL"] = redis.url
        print(f"Redis started on {redis.url} (data in .local/redis)", flush=True)
    manage = [sys.executable, "manage.py"]
    try:
        for command in (["migrate", "--noinput"], ["collectstatic", "--noinput", "-v0"],
                        ["seed_demo"]):
            subprocess.run(manage + command, cwd=ROOT, env=env, check=True)
        honcho = subprocess.Popen(
            [sys.executable, "-m", "honcho", "-f", "Procfile", "start", *PROCESSES],
            cwd=ROOT, env=env,
        )
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

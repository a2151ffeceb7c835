"""Run a command against a throwaway PostgreSQL server: `python -m tests.support.postgres CMD...`.

`make test` runs the suite once on SQLite and once through this, on a real PostgreSQL server
started here from the machine's binaries (Debian's postgresql package; installed with apt-get
when missing and we are root), listening on 127.0.0.1 only, removed afterwards.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from devtools.redis_server import free_port

USER = "webhooks"


def _bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


def _install() -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], check=True, env=env)


def _as_owner(args: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root: run it as the packaged `postgres` user then.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


def main(command: list[str]) -> int:
    bindir = _bindir()
    if bindir is None:
        _install()
        bindir = _bindir()
    if bindir is None:
        print("PostgreSQL binaries not found and could not be installed.", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()
    run = subprocess.run
    run(_as_owner([str(bindir / "initdb"), "-D", str(data), "-U", USER, "--auth=trust",
                   "-E", "UTF8", "--no-sync"]), check=True, stdout=subprocess.DEVNULL)
    options = f"-p {port} -k {sockets} -h 127.0.0.1 -c fsync=off -c full_page_writes=off"
    run(_as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-w",
                   "-l", str(root / "server.log"), "start"]), check=True,
        stdout=subprocess.DEVNULL)
    try:
        env = dict(os.environ, DATABASE_URL=f"postgres://{USER}@127.0.0.1:{port}/{USER}")
        run(_as_owner([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                       "-U", USER, USER]), check=True)
        print(f"PostgreSQL on 127.0.0.1:{port}: {' '.join(command)}", flush=True)
        return subprocess.run(command, env=env).returncode
    finally:
        run(_as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
            check=False, stdout=subprocess.DEVNULL)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""A private PostgreSQL server for tests and benchmarks: initdb in a temp dir, a free port, stopped after.

Uses the Debian server package (`.ci/run` installs it when missing). initdb refuses to run as
root, so as root the data directory belongs to the `postgres` user and the binaries run as it.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def pg_bindir() -> Path | None:
    """The newest installed server's bin directory (Debian layout), or pg_config's."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    root: Path
    port: int
    bindir: Path
    user: str | None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run([str(self.bindir / args[0]), *args[1:]], check=True, capture_output=True,
                       user=self.user, timeout=120)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_server() -> PgServer:
    """initdb + start on 127.0.0.1 and a free port; fsync off (throwaway data)."""
    bindir = pg_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries not found; install the postgresql package (.ci/run does).")
    root = Path(tempfile.mkdtemp(prefix="segwork-pg-"))
    user = "postgres" if os.geteuid() == 0 else None
    if user:
        shutil.chown(root, user=user)
    server = PgServer(root=root, port=free_port(), bindir=bindir, user=user)
    data = root / "data"
    try:
        server._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        with open(data / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {server.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{data}'\n"
                       "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                       "max_wal_size = '2GB'\nshared_buffers = '256MB'\n")
        server._run("pg_ctl", "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60", "start")
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return server

"""A real Redis server for the tests of the room's store: Debian's redis-server on a free loopback port,
nothing kept on disk (`--save ""`, `--appendonly no`), its files and log in a directory of the test's.
tests/conftest.py runs one for the whole session (each test gets it flushed); a test that stops its
server starts its own with `running_redis`."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.browser_support import free_port

REDIS_SERVER = "/usr/bin/redis-server"


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen
    directory: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log(self) -> Path:
        return self.directory / "redis.log"


def start_redis(directory: Path, port: int | None = None, timeout_s: float = 30) -> RedisServer:
    """Start redis-server in `directory` (on `port`, else a free one) and return once it answers PING."""
    import redis

    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    command = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    command += ["--dir", str(directory), "--logfile", str(directory / "redis.log")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    server = RedisServer(port, process, directory)
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1, socket_connect_timeout=1)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            if process.poll() is not None:
                log = server.log.read_text() if server.log.exists() else ""
                raise RuntimeError(f"redis-server exited with {process.returncode} on port {port}:\n{log}")
            try:
                if client.ping():
                    return server
            except redis.ConnectionError:
                pass
            if time.monotonic() > deadline:
                stop_redis(server)
                raise RuntimeError(f"redis-server did not answer PING on port {port} within {timeout_s} s")
            time.sleep(0.05)
    finally:
        client.close()


def stop_redis(server: RedisServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=10)


@contextlib.contextmanager
def running_redis(directory: Path) -> Iterator[RedisServer]:
    server = start_redis(directory)
    try:
        yield server
    finally:
        stop_redis(server)

"""Build the shipped image (deploy/Dockerfile) and run the shipped Compose file (deploy/compose.yaml)
with a real Docker engine, for tests/test_deploy_compose.py.

The Dockerfile starts from Docker Hub's `python:3.11-slim-bookworm`, and the Compose file's proxy and
room store are Docker Hub's `haproxy:2.6` and `redis:7.0.15`. Each is used as it is when the engine has
it or can pull it. The build machine reaches only PyPI, Debian and npm, not Docker Hub: there each is
replaced, in this engine only and under the same name, by a stand-in built from Debian's own packages
(Debian bookworm's Python 3.11 with pip, from `debootstrap`; Debian bookworm's HAProxy 2.6 and Redis
7.0.15, tests/docker/haproxy-standin.Dockerfile and redis-standin.Dockerfile).
What the stand-ins cannot check is the official images' own content (their Python is built from
source in /usr/local); everything the project's files say is checked as written.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tests.apt_mirror import debian_mirror
from tests.browser_support import ROOT, free_port, haproxy_server_addresses

COMPOSE_FILE = ROOT / "deploy" / "compose.yaml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
APP_IMAGE = "rnn-playground:latest"  # the name compose.yaml gives the app's image
PYTHON_IMAGE = "python:3.11-slim-bookworm"
HAPROXY_IMAGE = "haproxy:2.6"
REDIS_IMAGE = "redis:7.0.15"
STANDINS = Path(__file__).resolve().parent / "docker"
# The host's certificate authorities: where the network re-signs TLS (as the build machine's does for
# PyPI), pip inside the build trusts what pip on the host trusts.
HOST_CERTIFICATES = Path("/etc/ssl/certs/ca-certificates.crt")


def docker(
    *args: str, timeout: float = 120, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run the docker command line and return what it printed (raise with its output if it failed and `check`)."""
    completed = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )
    if check and completed.returncode != 0:
        raise RuntimeError(
            f"docker {' '.join(args)} failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
        )
    return completed


def require_docker() -> None:
    """Fail with what to do when no Docker engine or no Compose v2 answers."""
    if shutil.which("docker") is None or docker("info", check=False, timeout=30).returncode != 0:
        raise RuntimeError(
            "No Docker engine answers: install one (Debian: apt-get install -y docker.io) and "
            "start it (dockerd); .ci/run shows how CI does it."
        )
    if docker("compose", "version", check=False).returncode != 0:
        raise RuntimeError("`docker compose` (Compose v2) is missing; .ci/run shows how CI installs it.")


def base_image(name: str, build_standin) -> str:
    """Make `name` available to the engine: 'present', 'pulled', or 'stand-in' (built by `build_standin`)."""
    if docker("image", "inspect", name, check=False).returncode == 0:
        return "present"
    if docker("pull", name, check=False, timeout=600).returncode == 0:
        return "pulled"
    build_standin()
    return "stand-in"


def build_python_standin() -> None:
    """Debian bookworm with its Python 3.11 and pip as `python`/`pip`, imported as python:3.11-slim-bookworm."""
    if shutil.which("debootstrap") is None:
        raise RuntimeError(
            "Docker Hub is unreachable and debootstrap is missing (apt-get install -y debootstrap), "
            f"so no stand-in for {PYTHON_IMAGE} can be built."
        )
    with tempfile.TemporaryDirectory(prefix="python-standin-") as work:
        root = Path(work) / "rootfs"
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3,python3-pip,ca-certificates",
                "bookworm",
                str(root),
                debian_mirror(),
            ],  # the archive the machine's apt uses
            check=True,
            capture_output=True,
            timeout=900,
        )
        # The official image's commands are `python` and `pip`, and its pip installs system-wide.
        (root / "usr/local/bin/python").symlink_to("/usr/bin/python3")
        (root / "usr/local/bin/pip").symlink_to("/usr/bin/pip3")
        (root / "usr/lib/python3.11/EXTERNALLY-MANAGED").unlink(missing_ok=True)
        shutil.copyfile(HOST_CERTIFICATES, root / "etc/ssl/certs/ca-certificates.crt")
        shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
        archive = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(
            ["docker", "import", "-c", "ENV LANG=C.UTF-8", "-c", 'CMD ["python3"]', "-", PYTHON_IMAGE],
            stdin=archive.stdout,
            check=True,
            capture_output=True,
            timeout=600,
        )
        archive.wait(timeout=60)


def build_haproxy_standin() -> None:
    docker(
        "buildx",
        "build",
        "--network",
        "host",
        "-t",
        HAPROXY_IMAGE,
        "-f",
        str(STANDINS / "haproxy-standin.Dockerfile"),
        str(STANDINS),
        timeout=900,
    )


def build_redis_standin() -> None:
    docker(
        "buildx",
        "build",
        "--network",
        "host",
        "-t",
        REDIS_IMAGE,
        "-f",
        str(STANDINS / "redis-standin.Dockerfile"),
        str(STANDINS),
        timeout=900,
    )


def build_app_image() -> subprocess.CompletedProcess:
    """`docker build -f deploy/Dockerfile -t rnn-playground .` from the repository root, as the Dockerfile says.

    With `--network host`: the build machine's engine runs without iptables, so a build container on
    Docker's own network has no way out to PyPI; the Dockerfile's steps are the same either way.
    """
    return docker(
        "buildx",
        "build",
        "--network",
        "host",
        "--progress",
        "plain",
        "-f",
        str(DOCKERFILE),
        "-t",
        APP_IMAGE,
        str(ROOT),
        timeout=1800,
    )


def prepare_images(build_app: bool = True) -> dict[str, str]:
    """The images compose.yaml runs: the Python base (or its stand-in), the app's image built from
    deploy/Dockerfile (always when `build_app`, else only if missing), HAProxy and Redis (or their stand-ins).
    Returns how each base image was had, and the build's output under "build" when it ran."""
    prepared = {PYTHON_IMAGE: base_image(PYTHON_IMAGE, build_python_standin)}
    if build_app or docker("image", "inspect", APP_IMAGE, check=False).returncode != 0:
        build = build_app_image()
        prepared["build"] = build.stdout + build.stderr
    prepared[HAPROXY_IMAGE] = base_image(HAPROXY_IMAGE, build_haproxy_standin)
    prepared[REDIS_IMAGE] = base_image(REDIS_IMAGE, build_redis_standin)
    return prepared


def compose_files(overrides: tuple[Path, ...] = ()) -> list[str]:
    """The `-f` options: the shipped compose.yaml, then any override files (a benchmark's, say)."""
    return [option for path in (COMPOSE_FILE, *overrides) for option in ("-f", str(path))]


def compose(
    project: str, *args: str, env: dict[str, str] | None = None, timeout: float = 600, overrides: tuple[Path, ...] = ()
) -> subprocess.CompletedProcess:
    return docker("compose", *compose_files(overrides), "-p", project, *args, env=env, timeout=timeout)


def wait_for_settled_network(
    since: float, settle_s: float = 20.0, quiet_s: float = 5.0, timeout_s: float = 90.0
) -> None:
    """Wait until the host's interfaces have been quiet for `quiet_s` and `settle_s` have passed since `since`.

    Chromium fails its requests in flight with ERR_NETWORK_CHANGED when the host's interfaces change,
    and a Streamlit page that loses its scripts that way stays blank. Each container Docker starts
    brings the host a veth interface, which changes again about 2 s later (its IPv6 link-local
    address) and about 15 s later (a link message): a page opened then was left half-loaded once in
    CI and once in 20 cold page loads here. A participant's browser runs on another machine, which
    never sees the host's interfaces, so this is the test's own concern, not the app's.
    """
    last_event = [time.monotonic()]
    monitor = subprocess.Popen(["ip", "monitor", "link", "address"], stdout=subprocess.PIPE, text=True)

    def watch() -> None:
        for _ in monitor.stdout:
            last_event[0] = time.monotonic()

    threading.Thread(target=watch, daemon=True).start()
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            now = time.monotonic()
            if now - since >= settle_s and now - last_event[0] >= quiet_s:
                return
            time.sleep(0.5)
    finally:
        monitor.terminate()


@contextlib.contextmanager
def compose_stack(
    work_dir: Path, replicas: int = 2, overrides: tuple[Path, ...] = (), extra_env: dict[str, str] | None = None
) -> Iterator[dict]:
    """deploy/compose.yaml up with `replicas` replicas of the built image, on a free port; yields the
    proxy's url, each replica's url by HAProxy's server name, the path of HAProxy's log (followed
    into a file), the project's name and its container names; takes it all down afterwards.
    `overrides` are Compose files merged over the shipped one, `extra_env` the variables they read."""
    project = f"rnn-playground-test-{os.getpid()}"
    port = free_port(("0.0.0.0",))
    env = {"PORT": str(port), "REPLICAS": str(replicas), **(extra_env or {})}
    work_dir.mkdir(parents=True, exist_ok=True)
    log_path = work_dir / "compose-proxy.log"
    follower = None
    try:
        # --wait: until every replica's HEALTHCHECK passes and the proxy runs (the proxy waits for
        # the replicas to be healthy, as compose.yaml says).
        compose(project, "up", "-d", "--wait", env=env, timeout=900, overrides=overrides)
        wait_for_settled_network(since=time.monotonic())
        with open(log_path, "w") as log:
            follower = subprocess.Popen(
                [
                    "docker",
                    "compose",
                    *compose_files(overrides),
                    "-p",
                    project,
                    "logs",
                    "-f",
                    "--no-log-prefix",
                    "--no-color",
                    "proxy",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while len(named := haproxy_server_addresses(log_path)) < replicas and time.monotonic() < deadline:
            time.sleep(0.2)
        containers = compose(project, "ps", "-a", "--format", "{{.Name}}", env=env, overrides=overrides).stdout.split()
        yield {
            "url": f"http://127.0.0.1:{port}",
            "replicas": {name: f"http://{address}:8501" for name, address in named.items()},
            "log_path": log_path,
            "project": project,
            "containers": containers,
            "env": env,
        }
    finally:
        if follower is not None:
            follower.terminate()
        with contextlib.suppress(Exception):
            (work_dir / "compose-logs.txt").write_text(
                compose(project, "logs", "--no-color", env=env, overrides=overrides).stdout
            )
        compose(project, "down", "--remove-orphans", env=env, timeout=300, overrides=overrides)

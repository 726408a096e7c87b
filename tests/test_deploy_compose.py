"""The shipped deploy files, run for real: the image built from deploy/Dockerfile and two replicas of it
behind HAProxy, started by deploy/compose.yaml on a Docker engine. The image must serve the app as an
unprivileged user and pass its own health check, each replica must count its trainings from the CPU
limit Compose gives it, and Chromium sessions through the proxy must each stay on one replica (the
check of tests/test_browser_replicas.py, here with Docker's DNS and real containers) and train.

Where Docker Hub cannot be reached, the two base images are stand-ins built from Debian's packages
(tests/docker_support.py says which, and why that is enough)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser_support import ARTIFACTS, assert_no_exception, run_table, wait_until_idle
from tests.docker_support import APP_IMAGE, compose_stack, docker, prepare_images
from tests.replicas_support import assert_sessions_stay_on_one_replica_and_use_both
from tests.system_parts import DOCKER_PART, require

pytestmark = pytest.mark.browser

WORK_DIR = ARTIFACTS / "compose"
# What deploy/Dockerfile copies into /app; deploy/Dockerfile.dockerignore keeps everything else out.
APP_FILES = {".streamlit", "app_pages", "assets", "data", "lib", "requirements.txt", "streamlit_app.py"}
COUNT_TRAININGS = (
    "from lib.engine.cpus import cgroup_cpu_limit, trainings_at_once, usable_cpus; "
    "print(cgroup_cpu_limit(), trainings_at_once(usable_cpus()))"
)

OPEN_ROOM = (
    "from lib.data.room_store import open_store; store = open_store(); "
    "print(type(store).__name__, store.create_room().code)"
)
FIND_ROOM = "from lib.data.room_store import open_store; print(open_store().room_exists({code!r}))"


@pytest.fixture(scope="module")
def stack():
    require(DOCKER_PART)
    prepared = prepare_images()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    (WORK_DIR / "build.log").write_text(prepared.pop("build"))
    (WORK_DIR / "base-images.txt").write_text("".join(f"{name}: {how}\n" for name, how in prepared.items()))
    with compose_stack(WORK_DIR, replicas=2) as running:
        yield running


def app_containers(stack) -> list[str]:
    return [name for name in stack["containers"] if "-app-" in name]


def test_the_image_serves_the_app_as_an_unprivileged_user_and_passes_its_health_check(stack):
    containers = app_containers(stack)
    assert len(containers) == 2, stack["containers"]
    for container in containers:
        assert docker("inspect", "-f", "{{.State.Health.Status}}", container).stdout.strip() == "healthy"
        assert docker("exec", container, "id", "-u").stdout.strip() == "10001"
        # The app's own files belong to root: the server cannot change its code or its data.
        refused = docker("exec", container, "python", "-c", "open('/app/lib/__init__.py', 'a')", check=False)
        assert refused.returncode != 0 and "PermissionError" in refused.stderr, refused
        # Tests, benchmarks and git history stay out of the image.
        assert set(docker("exec", container, "ls", "-A", "/app").stdout.split()) == APP_FILES


def test_each_replica_counts_its_trainings_from_the_cpu_limit_compose_gives_it(stack):
    for container in app_containers(stack):
        # compose.yaml limits each replica to 2 CPUs: a quota of 2.0, so 2 trainings at once.
        assert docker("exec", container, "python", "-c", COUNT_TRAININGS).stdout.split()[-2:] == ["2.0", "2"]
    # The same image under a 1-CPU limit runs one training at a time (this host has 2 cores).
    one_cpu = docker("run", "--rm", "--network", "none", "--cpus", "1", APP_IMAGE, "python", "-c", COUNT_TRAININGS)
    assert one_cpu.stdout.split()[-2:] == ["1.0", "1"]


def test_the_replicas_share_one_room_store_with_its_memory_capped(stack):
    """A room opened on one replica is found on the other: both reach the Compose file's Redis
    (RNN_PLAYGROUND_ROOM_STORE), so participants on different replicas meet on one board."""
    first, second = app_containers(stack)
    opened = docker("exec", first, "python", "-c", OPEN_ROOM).stdout.split()
    assert opened[-2] == "RedisRoomStore", opened
    found = docker("exec", second, "python", "-c", FIND_ROOM.format(code=opened[-1])).stdout.split()
    assert found[-1] == "True"
    [redis] = [name for name in stack["containers"] if "-redis-" in name]
    answer = docker("exec", redis, "redis-cli", "config", "get", "maxmemory*").stdout.split()
    settings = dict(zip(answer[::2], answer[1::2], strict=True))
    assert (settings["maxmemory"], settings["maxmemory-policy"]) == (str(64 * 1024 * 1024), "volatile-ttl")


def test_sessions_through_the_compose_proxy_each_stay_on_one_replica(browser, stack):
    assert len(stack["replicas"]) == 2, f"HAProxy did not find both replicas through Docker's DNS: {stack['replicas']}"
    assert_sessions_stay_on_one_replica_and_use_both(browser, stack["url"], stack["replicas"], stack["log_path"])


def test_a_training_finishes_through_the_compose_proxy(browser, stack):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    elsewhere = []
    page.on(
        "request",
        lambda request: (
            elsewhere.append(request.url)
            if not request.url.startswith((stack["url"], stack["url"].replace("http", "ws", 1), "data:", "blob:"))
            else None
        ),
    )
    page.goto(f"{stack['url']}/parameter_sharing?epochs=5")
    wait_until_idle(page, timeout_ms=180_000)
    page.get_by_role("button", name="Train").click()
    expect(run_table(page)).to_contain_text("finished", timeout=180_000)
    assert_no_exception(page)
    # The page asked nothing of any host but the proxy (no font, icon or script from the internet).
    assert elsewhere == []
    context.close()

"""How many trainings run at once: what an operator would notice with a container's CPU limit.

The control-group files are fakes written under tmp_path, laid out as Linux lays them out.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lib.engine import training
from lib.engine.cpus import (
    cgroup_cpu_limit,
    size_tensorflow_thread_pools,
    tensorflow_thread_pools,
    trainings_at_once,
    usable_cpus,
)


def membership(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "proc_self_cgroup"
    path.write_text(text)
    return path


def cgroup_file(directory: Path, name: str, text: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(text + "\n")


def slots(tmp_path: Path, proc_text: str, affinity: int) -> int:
    return trainings_at_once(usable_cpus(affinity, tmp_path / "cgroup", membership(tmp_path, proc_text)))


def test_a_two_cpu_container_on_a_64_core_host_runs_two_trainings(tmp_path):
    # Docker's --cpus=2 (or a Kubernetes limit of 2) with cgroup v2, inside the container's namespace.
    cgroup_file(tmp_path / "cgroup", "cpu.max", "200000 100000")
    assert slots(tmp_path, "0::/\n", affinity=64) == 2


def test_no_quota_leaves_the_cores_the_process_may_run_on(tmp_path):
    cgroup_file(tmp_path / "cgroup", "cpu.max", "max 100000")
    assert slots(tmp_path, "0::/\n", affinity=8) == 8
    # No control-group files at all (not Linux, or not mounted): the same.
    assert trainings_at_once(usable_cpus(8, tmp_path / "nowhere", tmp_path / "missing")) == 8


def test_a_quota_set_on_the_pod_above_the_container_still_counts(tmp_path):
    # The process sits in a child group without a quota; its parent (the pod) has 1.5 CPUs.
    pod = tmp_path / "cgroup" / "kubepods" / "pod42"
    cgroup_file(pod, "cpu.max", "150000 100000")
    cgroup_file(pod / "container", "cpu.max", "max 100000")
    proc = membership(tmp_path, "0::/kubepods/pod42/container\n")
    assert cgroup_cpu_limit(tmp_path / "cgroup", proc) == pytest.approx(1.5)
    # One and a half CPUs: one training at a time (the rounding is down; see trainings_at_once).
    assert trainings_at_once(usable_cpus(64, tmp_path / "cgroup", proc)) == 1


def test_cgroup_v1_quota_and_period_give_the_cpus(tmp_path):
    # A v1 host (as this build machine): cpu and cpuacct mounted together, a 3-CPU quota.
    cgroup_file(tmp_path / "cgroup" / "cpu,cpuacct", "cpu.cfs_quota_us", "300000")
    cgroup_file(tmp_path / "cgroup" / "cpu,cpuacct", "cpu.cfs_period_us", "100000")
    proc_text = "4:memory:/x\n2:cpu,cpuacct:/\n0::/\n"
    assert slots(tmp_path, proc_text, affinity=16) == 3


def test_cgroup_v1_without_quota_is_unlimited(tmp_path):
    cgroup_file(tmp_path / "cgroup" / "cpu", "cpu.cfs_quota_us", "-1")
    cgroup_file(tmp_path / "cgroup" / "cpu", "cpu.cfs_period_us", "100000")
    assert slots(tmp_path, "1:cpu:/\n2:cpuacct:/\n0::/\n", affinity=2) == 2


def test_the_fewest_cpus_win_whether_affinity_or_quota(tmp_path):
    cgroup_file(tmp_path / "cgroup", "cpu.max", "400000 100000")
    # taskset to one core inside a 4-CPU quota: one training.
    assert slots(tmp_path, "0::/\n", affinity=1) == 1


def test_less_than_one_cpu_still_trains_one_at_a_time(tmp_path):
    cgroup_file(tmp_path / "cgroup", "cpu.max", "50000 100000")
    assert slots(tmp_path, "0::/\n", affinity=4) == 1


def test_an_unreadable_quota_file_leaves_the_affinity_to_decide(tmp_path):
    cgroup_file(tmp_path / "cgroup", "cpu.max", "garbage")
    assert slots(tmp_path, "0::/\n", affinity=3) == 3


def test_the_operator_setting_overrides_the_cpus(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_TRAININGS", "5")
    assert training.default_capacity() == 5
    assert trainings_at_once(2.0, "3") == 3
    # A value that is no positive whole number is ignored, and the CPUs decide.
    assert trainings_at_once(2.0, "0") == 2
    assert trainings_at_once(2.0, "two") == 2
    monkeypatch.setenv("PLAYGROUND_MAX_TRAININGS", "")
    monkeypatch.setattr(training, "usable_cpus", lambda: 2.0)
    assert training.default_capacity() == 2


def test_tensorflow_threads_follow_the_quota_not_the_hosts_cores(tmp_path):
    # A 2-CPU container on a 64-core host: TensorFlow would start 64 threads in each pool by
    # itself; it gets 2, as it would choose on a 2-core host.
    cgroup_file(tmp_path / "cgroup", "cpu.max", "200000 100000")
    cpus = usable_cpus(64, tmp_path / "cgroup", membership(tmp_path, "0::/\n"))
    assert tensorflow_thread_pools(cpus) == (2, 2)
    # Half a CPU still needs a thread.
    assert tensorflow_thread_pools(0.5) == (1, 1)


def test_sizing_the_pools_keeps_what_an_operator_set(monkeypatch):
    monkeypatch.setattr("lib.engine.cpus.usable_cpus", lambda: 3.0)
    environment = {"TF_NUM_INTRAOP_THREADS": "6"}
    assert size_tensorflow_thread_pools(environment) == ("6", "3")
    assert environment == {"TF_NUM_INTRAOP_THREADS": "6", "TF_NUM_INTEROP_THREADS": "3"}

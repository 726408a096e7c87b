"""How many CPUs this process may really use, and so how many trainings may run at once.

`os.cpu_count()` is the host's core count. In a container limited to 2 CPUs on a 64-core host it
still says 64, and the app would let 64 trainings share 2 CPUs' worth of time. The CPUs the process
may really use are the fewest of: the cores it may be scheduled on (`os.sched_getaffinity`, which a
cpuset or `taskset` narrows) and the CPU quota of its control group (cgroup v2 `cpu.max`, cgroup v1
`cpu.cfs_quota_us` / `cpu.cfs_period_us`), at its own level and every level above it. Python 3.13's
`os.process_cpu_count` reads the affinity only, and this app runs on 3.11.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
SELF_CGROUP = Path("/proc/self/cgroup")
MAX_TRAININGS_VARIABLE = "PLAYGROUND_MAX_TRAININGS"


def affinity_cpus() -> int:
    """The cores this process may be scheduled on (all the host's where the call does not exist)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _levels(mount: Path, group: str) -> list[Path]:
    """The directory of `group` under `mount` and each of its parents up to `mount` itself.

    A parent's quota caps its children too (a Kubernetes pod's quota sits above its container's).
    Inside a container the group's path may name a directory the container cannot see: then the
    mount itself, which is the container's own group, still counts.
    """
    parts = [part for part in group.strip("/").split("/") if part]
    return [mount.joinpath(*parts[:depth]) for depth in range(len(parts), -1, -1)]


def _v2_quota(directory: Path) -> float | None:
    text = _read(directory / "cpu.max")
    if not text:
        return None
    quota, _, period = text.partition(" ")
    if quota == "max" or not quota.isdigit() or not period.isdigit() or int(period) == 0:
        return None  # max: no quota; anything unreadable counts as none rather than stop the app.
    return int(quota) / int(period)


def _v1_quota(directory: Path) -> float | None:
    quota, period = _read(directory / "cpu.cfs_quota_us"), _read(directory / "cpu.cfs_period_us")
    if not quota or not period or not quota.isdigit() or not period.isdigit() or int(quota) == 0 or int(period) == 0:
        return None  # -1: no quota.
    return int(quota) / int(period)


def cgroup_cpu_limit(cgroup_root: Path = CGROUP_ROOT, self_cgroup: Path = SELF_CGROUP) -> float | None:
    """The tightest CPU quota over this process's control groups, in CPUs (1.5 = one and a half), or
    None if no level sets one."""
    limits: list[float] = []
    membership = _read(self_cgroup) or "0::/"
    for line in membership.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, group = rest.partition(":")
        if hierarchy == "0" and controllers == "":
            # cgroup v2: one tree, mounted at the root (or at unified/ beside a v1 tree).
            for mount in (cgroup_root, cgroup_root / "unified"):
                limits += [quota for level in _levels(mount, group) if (quota := _v2_quota(level)) is not None]
        elif "cpu" in controllers.split(","):
            # cgroup v1: the cpu controller's own tree, mounted under its controllers' names.
            for name in dict.fromkeys((controllers, "cpu", "cpu,cpuacct", "cpuacct,cpu")):
                mount = cgroup_root / name
                limits += [quota for level in _levels(mount, group) if (quota := _v1_quota(level)) is not None]
    return min(limits) if limits else None


def usable_cpus(affinity: int | None = None, cgroup_root: Path = CGROUP_ROOT, self_cgroup: Path = SELF_CGROUP) -> float:
    """The CPUs this process may really use: its scheduling affinity, capped by its CPU quota."""
    cores = affinity if affinity is not None else affinity_cpus()
    quota = cgroup_cpu_limit(cgroup_root, self_cgroup)
    return float(cores) if quota is None else min(float(cores), quota)


def trainings_at_once(cpus: float, configured: str | None = None) -> int:
    """How many trainings may run at once: `configured` (PLAYGROUND_MAX_TRAININGS) if it is a
    positive whole number, else one per whole CPU, and at least one.

    A fractional quota rounds down (1.5 CPUs: one training), because a training is a CPU-bound loop
    that takes a whole core when it can: a second training on the half CPU left would halve the
    speed of both without finishing the pair any sooner, and the half CPU is better left to the
    server itself (reruns, chart redraws) and to the running training's TensorFlow threads.
    """
    if configured is not None and configured.strip().isdigit() and int(configured) > 0:
        return int(configured)
    return max(1, math.floor(cpus + 1e-6))


# --- TensorFlow's thread pools ------------------------------------------------------------------

INTRA_OP_VARIABLE = "TF_NUM_INTRAOP_THREADS"
INTER_OP_VARIABLE = "TF_NUM_INTEROP_THREADS"


def tensorflow_thread_pools(cpus: float) -> tuple[int, int]:
    """(intra-op, inter-op) threads for a process that may use `cpus` CPUs: one of each per CPU.

    That is TensorFlow's own choice on a host of that many cores; left alone, TensorFlow counts the
    host's cores instead, so in a 2-CPU container on a 64-core host each pool would get 64 threads.
    benchmarks/threads.py measured, with two trainings at once on 2 cores (docs/performance.md): 16
    threads per pool (TensorFlow's choice on a 16-core host) cost 1.24 to 1.42 times the CPU seconds
    of 2 per pool; one thread per pool (the CPUs divided between the two trainings) made a training
    alone slower in every repetition and saved no CPU worth having; so the pools are not divided
    between the trainings at once.
    """
    threads = max(1, math.floor(cpus + 1e-6))
    return threads, threads


def size_tensorflow_thread_pools(environ=os.environ) -> tuple[str, str]:
    """Size TensorFlow's pools to the CPUs this process may use, before TensorFlow starts; returns
    (intra, inter) as set.

    TensorFlow reads TF_NUM_INTRAOP_THREADS and TF_NUM_INTEROP_THREADS once, when its runtime
    starts (the first op), and keeps them for the life of the process, so this must run before any
    page imports Keras: the entry point calls it first. Values an operator set are kept.
    """
    intra, inter = tensorflow_thread_pools(usable_cpus())
    environ.setdefault(INTRA_OP_VARIABLE, str(intra))
    environ.setdefault(INTER_OP_VARIABLE, str(inter))
    return environ[INTRA_OP_VARIABLE], environ[INTER_OP_VARIABLE]

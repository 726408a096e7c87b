"""Identical presses train once: the process's registry of shared trainings, and their cache.

In a workshop the instructor says "now press Train", and thirty people press it on the same
settings within a minute. Training thirty copies of one model would make the last of them wait for
all thirty. So a press is named by a key made of everything that changes its result (the page, every
setting, the data's content hash, the seed, and the app's code), and:

- the first press of a key starts a *job*: the page's training runs in a worker thread of its own,
  recording its runs into the job and drawing nothing;
- a press of the same key while the job trains *joins* it: every session that pressed watches the one
  training from its own script thread (`lib.engine.training` draws the job's curves into each page);
- a watcher that presses Stop or moves a setting detaches alone, keeping its copy of the run as
  stopped at the epoch it saw; the job itself stops once nobody watches it any more;
- a finished job stays in a bounded cache (a count and a memory cap, least recently used first out),
  so a press of settings already trained in this process is served at once, labelled as such.

This module knows nothing of Streamlit or Keras: it holds jobs, their watchers and their threads.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

LOGGER = logging.getLogger(__name__)

# Finished presses kept for later presses of the same key. A translator's trained model holds about
# 2-9 MB of weights (and its traced decoding graphs about as much again), so the caps keep the cache
# well under a tenth of a 2 GB server; `benchmarks/shared_presses.py` measures what it really holds.
MAX_CACHED_PRESSES = 12
MAX_CACHED_BYTES = 160 * 1024 * 1024

# The job's states. A queued job waits for a training slot; the others are final except "training".
QUEUED, TRAINING, FINISHED, STOPPED, FAILED = "queued", "training", "finished", "stopped", "failed"


def _code_version() -> str:
    """The app's code, as a hash of its library's sources: a cached press never outlives the code
    that trained it (Streamlit reloads changed modules in a running server)."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parents[1]
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


APP_VERSION = _code_version()


def press_key(page_key: str, settings: dict[str, Any]) -> str:
    """The key of a press: the page, every setting that changes the result (the data's content hash
    and the seed among them) and the app's version. Two presses share a training only when equal."""
    text = json.dumps([page_key, settings, APP_VERSION], sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


class PressStopped(Exception):
    """Raised inside a job's training when nobody watches it any more."""


@dataclass(eq=False)
class PressJob:
    """One training shared by every session that pressed its key: what the worker recorded so far."""

    key: str
    page_key: str
    started: datetime = field(default_factory=datetime.now)
    status: str = QUEUED
    # While queued: the engine's queue message ("Queued: 2 trainings ahead of yours…").
    message: str = ""
    error: str = ""
    # The runs the worker trained, in order, as `lib.engine.training.TrainingRun`s (a press may train
    # several models in a row: the ConvNets page's ConvNet then MLP).
    runs: list[Any] = field(default_factory=list)
    # How to draw the page's second live view (an attention map, say): the owner's drawing function.
    draw_snapshot: Callable | None = None
    watchers: int = 0
    sessions: set[str] = field(default_factory=set)
    stop_requested: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)
    memory_bytes: int = 0
    private: bool = False
    thread: threading.Thread | None = None

    @property
    def joinable(self) -> bool:
        return not self.ended.is_set() and not self.stop_requested.is_set()

    @property
    def session_count(self) -> int:
        return len(self.sessions)

    def check_stop(self) -> None:
        """Called between batches and while queued: ends the training once nobody watches it."""
        if self.stop_requested.is_set():
            raise PressStopped()


# The job whose training this thread runs, if it is a job's worker (see `current_job`).
_worker = threading.local()


def current_job() -> PressJob | None:
    """The job this thread trains for, or None in a page's own script thread."""
    return getattr(_worker, "job", None)


def _estimated_bytes(job: PressJob) -> int:
    """The weights the job's runs keep (4 bytes a parameter), found through a model or a translator."""
    total = 0
    for run in job.runs:
        holder = getattr(run, "model", None)
        for _ in range(3):  # a translator holds its model; a trainer holds its model too
            if holder is None or hasattr(holder, "count_params"):
                break
            holder = getattr(holder, "model", None)
        if holder is not None and hasattr(holder, "count_params"):
            try:
                total += 4 * int(holder.count_params())
            except Exception:  # an unbuilt model has no parameters to count yet
                pass
    return total


class PressRegistry:
    """Every job of the process by its key: running ones, and finished ones up to the cache's caps."""

    def __init__(self, max_cached: int = MAX_CACHED_PRESSES, max_bytes: int = MAX_CACHED_BYTES):
        self.max_cached = max_cached
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, PressJob] = OrderedDict()

    def join_or_start(
        self, key: str, page_key: str, session_id: str, train: Callable[[PressJob], None], *, private: bool = False
    ) -> tuple[PressJob, str]:
        """Join the job of `key` if it trains, serve it if it finished, or start one with `train(job)`
        run in a worker thread. Returns the job and "joined", "cached" or "started"; a joined or
        started job counts the caller as a watcher until `detach`."""
        with self._lock:
            job = None if private else self._jobs.get(key)
            if job is not None and job.joinable:
                job.watchers += 1
                job.sessions.add(session_id)
                return job, "joined"
            if job is not None and job.status == FINISHED:
                self._jobs.move_to_end(key)
                return job, "cached"
            job = PressJob(key=key, page_key=page_key, watchers=1, sessions={session_id}, private=private)
            if not private:
                self._jobs[key] = job
        job.thread = threading.Thread(target=self._work, args=(job, train), name=f"press-{page_key}", daemon=True)
        job.thread.start()
        return job, "started"

    def detach(self, job: PressJob) -> bool:
        """One watcher leaves; the job is asked to stop when it was the last. Returns whether it was."""
        with self._lock:
            job.watchers = max(0, job.watchers - 1)
            last = job.watchers == 0
            if last and not job.ended.is_set():
                job.stop_requested.set()
        return last

    def _work(self, job: PressJob, train: Callable[[PressJob], None]) -> None:
        _worker.job = job
        try:
            train(job)
            job.status = FINISHED
        except PressStopped:
            job.status = STOPPED
        except Exception as problem:  # shown to every watcher as a message; the server log has the rest
            LOGGER.exception("A shared training failed (%s)", job.page_key)
            job.status, job.error = FAILED, f"{type(problem).__name__}: {problem}"
        finally:
            _worker.job = None
            job.memory_bytes = _estimated_bytes(job)
            with self._lock:
                if job.status != FINISHED and self._jobs.get(job.key) is job:
                    del self._jobs[job.key]
                self._evict()
            job.ended.set()

    def _evict(self) -> None:
        """Drop the least recently used finished jobs beyond the caps; running jobs always stay."""
        finished = [key for key, job in self._jobs.items() if job.status == FINISHED]
        total = sum(self._jobs[key].memory_bytes for key in finished)
        while finished and (len(finished) > self.max_cached or total > self.max_bytes):
            oldest = finished.pop(0)
            total -= self._jobs.pop(oldest).memory_bytes

    def stats(self) -> dict[str, int]:
        """What the registry holds now: running and cached jobs, and the cached jobs' weights."""
        with self._lock:
            cached = [job for job in self._jobs.values() if job.status == FINISHED]
            return {
                "running": sum(not job.ended.is_set() for job in self._jobs.values()),
                "cached": len(cached),
                "cached_bytes": sum(job.memory_bytes for job in cached),
            }

"""The one live-training engine: every page that trains a Keras model trains it through `train_live`.

While `model.fit` runs in the page's script thread, a Keras callback records the true per-batch loss
and metrics, and a few times a second redraws one Altair chart in place, with a progress bar. Each
run, finished or cut short, is kept in `st.session_state` so the next rerun redraws it, and the runs
of a page are overlaid on one chart to compare their settings.

Streamlit serves every browser session from one process, so the engine:
- never resets Keras or TensorFlow for the process (other sessions are training right now);
- lets at most a few trainings run at once (`TrainingSlots`), and tells a waiting session its place;
- treats Streamlit's stop and rerun exceptions (raised at the next `st.` call when the user presses
  Stop, moves a slider or leaves the page) as the end of the run: the part already learned and its
  history are kept, the model stays usable, and the exception goes on so Streamlit can rerun;
- trains identical presses once, when the page names what its press depends on (`live_training`'s
  `share`): the training then runs in a worker thread (`lib/engine/shared_presses.py`), every session
  that pressed the same key watches it (`watch_press`), and a finished one is served from a cache.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from lib.engine.charts import draw_training_chart
from lib.engine.cpus import MAX_TRAININGS_VARIABLE, trainings_at_once, usable_cpus
from lib.engine.keras_patches import sum_gradients_without_registering_them
from lib.engine.shared_presses import FAILED, PressJob, PressRegistry, current_job, press_key

MAX_RUNS_PER_PAGE = 12
# How a session got a shared press's run (`TrainingRun.served`): it watched the training, or the
# training had finished for another session and its record was served from the cache.
JOINED, SERVED = "joined", "served"
# Older runs keep their curves but drop their models, so a long workshop does not pile up memory.
MODELS_KEPT_PER_PAGE = 3
MAX_BATCH_POINTS_DRAWN = 300
DEFAULT_REDRAW_SECONDS = 0.3
# Drawing may take at most this share of the training's wall time: the engine's cost target is 5 %.
REDRAW_TIME_BUDGET = 0.03


# --- The record of one training run -----------------------------------------------------------


@dataclass
class TrainingRun:
    """Everything a page needs to redraw one run: its curves, its status and (for recent runs) its model."""

    label: str
    settings: dict[str, Any]
    metrics: list[str]
    epochs_planned: int
    batches_per_epoch: int
    status: str = "training"  # training → finished | stopped
    batch_rows: list[dict[str, Any]] = field(default_factory=list)
    epoch_rows: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    epochs_completed: int = 0
    batches_completed: int = 0
    model: Any = field(default=None, repr=False)
    # What the page measured after training (test errors, forecasts): kept when the model is dropped.
    results: dict[str, Any] = field(default_factory=dict, repr=False)
    # The second live view's pictures (an attention map, say), a few per epoch, to replay after:
    # dicts {"epoch": position in epochs, "value": what the page's `snapshot` function returned}.
    snapshots: list[dict[str, Any]] = field(default_factory=list, repr=False)
    # Set when the training thread has let go of the run (finished or stopped); see page_runs.
    released: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)
    trainer_thread: int = field(default_factory=threading.get_ident, repr=False, compare=False)
    # When the training started (time.perf_counter), for the progress line of whoever watches it.
    started: float = field(default_factory=time.perf_counter, repr=False, compare=False)
    # A session's copy of a shared press (see `watch_press`): the job that trained it, and whether
    # this session "joined" the training or was "served" it from the cache after it had finished.
    job: PressJob | None = field(default=None, repr=False, compare=False)
    served: str = ""
    # The job's own run this copy follows; and whether this session was the last to watch it, so that
    # the model the job stopped with is this copy's, even if the job stopped after the session left.
    source: TrainingRun | None = field(default=None, repr=False, compare=False)
    heir: bool = False
    # Set when this session left a shared press that went on training for others: its copy has the
    # curves it saw but no model (the model was still training); the same press again gets the run.
    left_shared: bool = False

    @property
    def progress(self) -> float:
        total = self.epochs_planned * self.batches_per_epoch
        return min(self.batches_completed / total, 1.0) if total else 0.0

    @property
    def status_text(self) -> str:
        text = self.status
        if self.status == "stopped":
            text = f"stopped at epoch {self.batches_completed / self.batches_per_epoch:.1f} of {self.epochs_planned}"
            if self.left_shared:
                text += " (it trained on for others: press Train again on these settings to get the finished run)"
        if self.job is not None and self.served == SERVED:
            text += f" · trained at {self.job.started:%H:%M} for another session"
        elif self.job is not None and self.job.session_count > 1:
            text += f" · trained once for {self.job.session_count} sessions"
        return text

    def final(self, metric: str, split: str = "validation") -> float | None:
        """The last epoch-end value of a metric, or None before the first epoch ends."""
        for row in reversed(self.epoch_rows):
            if row["metric"] == metric and row["split"] == split:
                return row["value"]
        return None

    def history_frame(self) -> pd.DataFrame:
        """Long-form rows for the chart: the smoothed per-batch training curve and validation per epoch."""
        batch_rows = self.batch_rows
        if len(batch_rows) > MAX_BATCH_POINTS_DRAWN * len(self.metrics):
            # Thin the batch curve evenly; the smoothing already hides what thinning drops.
            stride = math.ceil(len(batch_rows) / (MAX_BATCH_POINTS_DRAWN * len(self.metrics)))
            stride *= len(self.metrics)
            kept = []
            for start in range(0, len(batch_rows), stride):
                kept.extend(batch_rows[start : start + len(self.metrics)])
            tail = batch_rows[-len(self.metrics) :]
            batch_rows = kept if kept[-len(self.metrics) :] == tail else kept + tail
        validation_rows = [row for row in self.epoch_rows if row["split"] == "validation"]
        frame = pd.DataFrame(batch_rows + validation_rows, columns=["metric", "split", "epoch", "value"])
        frame.insert(0, "run", self.display_label)
        return frame

    @property
    def display_label(self) -> str:
        return self.label if self.status != "stopped" else f"{self.label} (stopped)"


# --- Per-session run storage -------------------------------------------------------------------


def _runs_key(page_key: str) -> str:
    return f"training_runs::{page_key}"


# How long a rerun waits for the previous script thread of the same session to let go of its run.
RELEASE_WAIT_SECONDS = 20.0


def page_runs(page_key: str) -> list[TrainingRun]:
    """The runs this session trained on one page, oldest first, none of them still half-written.

    When a widget moves during training, Streamlit (with its default fast reruns) starts the new
    script run at once, while the old script thread goes on until its next `st.` call, where it is
    stopped. Waiting here for that thread to let go of its run means the new run never draws, or
    trains on, a model that another thread is still changing.
    """
    runs = st.session_state.setdefault(_runs_key(page_key), [])
    for run in runs:
        if run.status == "training" and run.trainer_thread != threading.get_ident():
            run.released.wait(timeout=RELEASE_WAIT_SECONDS)
        if run.heir and run.model is None and run.job is not None and run.job.ended.is_set():
            inherit(run)
    return runs


def inherit(copy: TrainingRun) -> None:
    """The last watcher's copy of a shared press takes the model the job stopped with (and anything it
    measured): what a session that trains in its own thread keeps when it presses Stop."""
    copy.heir = False
    if copy.source is not None:
        _follow(copy, copy.source, settled=False)  # the batches it trained until it noticed nobody watched
        copy.model, copy.results = copy.source.model, dict(copy.source.results)


def clear_page_runs(page_key: str) -> None:
    st.session_state[_runs_key(page_key)] = []


def _remember(page_key: str, run: TrainingRun) -> None:
    runs = page_runs(page_key)
    runs.append(run)
    del runs[:-MAX_RUNS_PER_PAGE]
    for older in runs[:-MODELS_KEPT_PER_PAGE]:
        older.model = None


def latest_model(page_key: str) -> Any:
    """The model of the newest run that still holds one (finished or stopped), or None."""
    for run in reversed(page_runs(page_key)):
        if run.model is not None and run.status != "training":
            return run.model
    return None


def runs_history(runs: list[TrainingRun]) -> pd.DataFrame:
    frames = [_cached_history_frame(run) for run in runs]
    frames = [frame for frame in frames if not frame.empty]
    if not frames:
        return pd.DataFrame(columns=["run", "metric", "split", "epoch", "value"])
    return pd.concat(frames, ignore_index=True)


def _cached_history_frame(run: TrainingRun) -> pd.DataFrame:
    """A finished or stopped run's rows never change, so they are built once, not at every redraw."""
    if run.status == "training":
        return run.history_frame()
    key = (run.display_label, len(run.batch_rows), len(run.epoch_rows))
    if getattr(run, "_frame_key", None) != key:
        run._frame = run.history_frame()
        run._frame_key = key
    return run._frame


def reference_history(references: list[dict] | None, runs: list[TrainingRun]) -> pd.DataFrame:
    """Flat lines for values a page wants beside its curves (a baseline's validation error, say).

    `references` holds dicts with run (the label), metric and value; each becomes a dotted line
    across the epochs of the longest run.
    """
    if not references:
        return pd.DataFrame(columns=["run", "metric", "split", "epoch", "value"])
    last_epoch = max([run.epochs_planned for run in runs] or [1])
    rows = [
        {**reference, "split": "reference", "epoch": epoch}
        for reference in references
        for epoch in (0.0, float(last_epoch))
    ]
    return pd.DataFrame(rows, columns=["run", "metric", "split", "epoch", "value"])


def draw_runs(
    area, runs: list[TrainingRun], metrics: list[str], references: list[dict] | None = None, *, save: bool = True
) -> None:
    """Draw the overlaid chart of a page's runs into `area` (an `st.empty` or a container), with its "Save"
    menu unless it is redrawn live (`save=False`)."""
    history = runs_history(runs)
    if history.empty:
        return
    if references:
        history = pd.concat([reference_history(references, runs), history], ignore_index=True)
    draw_training_chart(area, history, metrics, save=save)


def accuracy_runs_table(runs: list[TrainingRun], validation_label: str, show_gap: bool = False) -> None:
    """One row per run: status, final training and validation accuracy, and training seconds.

    With `show_gap`, also train minus validation, which is how much the run overfits.
    """
    rows = []
    for run in runs:
        train, validation = run.final("accuracy", "train"), run.final("accuracy", "validation")
        row = {
            "Run": run.display_label,
            "Status": run.status_text,
            "Train accuracy": train,
            validation_label: validation,
        }
        if show_gap:
            row["Gap"] = None if train is None or validation is None else train - validation
        row["Seconds"] = run.seconds
        rows.append(row)
    accuracy = st.column_config.NumberColumn(format="%.3f")
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        column_config={
            "Train accuracy": accuracy,
            validation_label: accuracy,
            "Gap": st.column_config.NumberColumn(format="%.3f", help="Train minus validation: the overfitting."),
            "Seconds": st.column_config.NumberColumn(format="%.1f"),
        },
    )


def live_training(
    page_key: str,
    metrics: list[str],
    train: Callable[[Any], object],
    *,
    train_label: str = "Train",
    disabled: bool = False,
    references: list[dict] | None = None,
    share: dict[str, Any] | None = None,
) -> bool:
    """The training block of every page: Train, Stop and Clear runs, then one chart of the page's runs.

    When Train is pressed, `train(area)` trains into the chart's place (through `train_live`);
    otherwise the page's stored runs are redrawn there. Returns whether Train was pressed.

    With `share` (everything the press's result depends on: every setting, the data's content hash,
    the seed), identical presses of every session train once: `train` then runs in a worker thread and
    must draw only through `area` and the engine (see `watch_press`).
    """
    pressed = training_buttons(page_key, train_label, disabled)
    own = False
    if share is not None and not pressed:
        own = offer_own_training(page_key, share, disabled)
    area = st.container()
    if share is not None and (pressed or own):
        watch_press(page_key, metrics, train, share, area, references, private=own)
    elif pressed:
        train(area)
    else:
        draw_runs(area, page_runs(page_key), metrics, references)
    if share is not None:
        shared_run_note(page_key)
    return pressed or own


def shared_run_note(page_key: str) -> None:
    """Under the chart: how this session got its newest run, when another session's press shared it."""
    runs = page_runs(page_key)
    newest = runs[-1] if runs else None
    if newest is not None and newest.job is not None and (newest.served == SERVED or newest.job.session_count > 1):
        st.caption(
            f"Newest run, {newest.display_label}: {newest.status_text}. Sessions that press Train with the "
            "same settings and seed share one training; change the seed for a run of your own."
        )


SEED_HELP = (
    "The seed of the model's first weights (and of its batches' order where the page sets it). Everyone who "
    "presses Train with the same settings and seed shares one training, drawn live for all of them; another "
    "seed trains a model of your own, and shows how much a run varies from draw to draw."
)


def training_buttons(page_key: str, train_label: str = "Train", disabled: bool = False) -> bool:
    """Train, Stop and Clear runs in one row; returns whether Train was pressed.

    Stop needs no handler: pressing it reruns the script, and Streamlit stops the training at its
    next redraw, which the engine records as a stopped run.
    """
    row = st.container(horizontal=True)
    pressed = row.button(train_label, type="primary", icon=":material/play_arrow:", disabled=disabled)
    row.button("Stop", icon=":material/stop:", help="Ends training after the current batch; keeps what it learned.")
    if row.button("Clear runs", icon=":material/delete:", help="Forget this page's runs and their curves."):
        clear_page_runs(page_key)
    return pressed


# --- The process-wide gate that bounds concurrent trainings ------------------------------------


class TrainingSlots:
    """A first-come, first-served counting gate: at most `capacity` trainings at once in the process.

    A bare semaphore cannot say how many sessions are ahead of a waiting one, so waiting sessions
    hold a ticket in an ordered queue, and `wait_for_slot` reports the ticket's position while it waits.
    """

    def __init__(self, capacity: int):
        self.capacity = max(1, capacity)
        self._condition = threading.Condition()
        self._running = 0
        self._queue: list[object] = []

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def acquire(self, on_wait: Callable[[int], None] | None = None, poll_seconds: float = 0.5) -> None:
        """Block until a slot is free; call `on_wait(sessions_ahead)` while waiting.

        `on_wait` may raise (Streamlit stops a waiting script when its user moves a widget): the
        ticket then leaves the queue so that nobody waits behind a session that has gone.
        """
        ticket = object()
        with self._condition:
            self._queue.append(ticket)
        try:
            while True:
                with self._condition:
                    if self._queue[0] is ticket and self._running < self.capacity:
                        self._queue.pop(0)
                        self._running += 1
                        self._condition.notify_all()
                        return
                    ahead = self._queue.index(ticket) + self._running - self.capacity + 1
                if on_wait is not None:
                    on_wait(max(ahead, 1))
                with self._condition:
                    self._condition.wait(timeout=poll_seconds)
        except BaseException:
            with self._condition:
                if ticket in self._queue:
                    self._queue.remove(ticket)
                self._condition.notify_all()
            raise

    def release(self) -> None:
        with self._condition:
            self._running = max(0, self._running - 1)
            self._condition.notify_all()


def default_capacity() -> int:
    """How many trainings may run at once: PLAYGROUND_MAX_TRAININGS, or else one per CPU the process
    may really use (a container's CPU quota, not the host's core count; see lib/engine/cpus.py)."""
    return trainings_at_once(usable_cpus(), os.environ.get(MAX_TRAININGS_VARIABLE))


@st.cache_resource(show_spinner=False)
def training_slots() -> TrainingSlots:
    """The one gate shared by every session of this process."""
    return TrainingSlots(default_capacity())


# Whether this thread (a session's script run) already holds a slot, taken by `training_slot`.
_held = threading.local()


def queue_message(sessions_ahead: int) -> str:
    return (
        f"Queued: {sessions_ahead} training{'s' if sessions_ahead != 1 else ''} ahead of yours "
        "in this app. Yours starts as soon as a slot frees up."
    )


@contextlib.contextmanager
def training_slot(area=None):
    """Hold one of the process's training slots for the whole block, waiting for it first.

    `train_live` takes a slot for `fit` alone, which suits a model that is quick to build. A page
    whose preparation is heavy (encoding 24,000 sentence pairs, building and compiling a translator:
    a few seconds of Python each, under the interpreter's lock) wraps that preparation and its
    `train_live` in this block, so that a session prepares only once its turn has come. Ten sessions
    pressing at once then queue at once instead of all preparing together, which held every other
    session's page (a newcomer's home page waited up to 7 s: docs/performance.md, *A room, measured*), and a
    waiting session holds no model. Inside the block, `train_live` uses the slot already held.
    """
    if getattr(_held, "slot", False):
        yield
        return
    slots = training_slots()
    job = current_job()
    if job is not None:  # a shared press's worker: its watchers show the queue
        slots.acquire(on_wait=lambda ahead: job_waits(job, ahead))
    else:
        placeholder = (area if area is not None else st).empty()
        slots.acquire(on_wait=lambda ahead: placeholder.info(queue_message(ahead)))
        placeholder.empty()
    _held.slot = True
    try:
        yield
    finally:
        _held.slot = False
        slots.release()


# --- The live view -----------------------------------------------------------------------------


class _LiveView:
    """The widgets one training redraws: status line, progress bar and chart, all updated in place."""

    def __init__(
        self,
        area,
        metrics: list[str],
        earlier_runs: list[TrainingRun],
        references: list[dict] | None,
        draw_snapshot: Callable[[Any, dict, TrainingRun], None] | None = None,
    ):
        self.references = references
        self.status = area.empty()
        self.progress = area.empty()
        self.chart = area.empty()
        # The second live view goes under the chart, which needs the page's width for its panels.
        self.snapshot = area.empty() if draw_snapshot is not None else None
        self.draw_snapshot = draw_snapshot
        self.metrics = metrics
        self.earlier_runs = earlier_runs

    def show_queue(self, sessions_ahead: int) -> None:
        self.status.info(queue_message(sessions_ahead))

    def redraw(self, run: TrainingRun, started: float) -> None:
        self.show_progress(run, started)
        self.show_chart(run)

    def show_progress(self, run: TrainingRun, started: float) -> None:
        elapsed = time.perf_counter() - started
        done = run.progress
        remaining = elapsed * (1 - done) / done if done > 0 else float("nan")
        epoch_number = min(run.batches_completed // run.batches_per_epoch + 1, run.epochs_planned)
        batch_number = run.batches_completed - (epoch_number - 1) * run.batches_per_epoch
        time_left = f"{remaining:,.0f} s left" if math.isfinite(remaining) else "estimating time left"
        shared = (
            f" · one training for {run.job.session_count} sessions" if run.job and run.job.session_count > 1 else ""
        )
        self.status.empty()
        self.progress.progress(
            done,
            text=(
                f"Epoch {epoch_number}/{run.epochs_planned} · batch {batch_number}/{run.batches_per_epoch}"
                f" · {elapsed:,.1f} s elapsed · {time_left}{shared}"
            ),
        )

    def show_chart(self, run: TrainingRun) -> None:
        draw_runs(self.chart, [*self.earlier_runs, run], self.metrics, self.references, save=False)
        if self.draw_snapshot is not None and run.snapshots:
            self.draw_snapshot(self.snapshot, run.snapshots[-1], run)


# --- The Keras callback ------------------------------------------------------------------------


def _make_recorder(
    run: TrainingRun,
    batch_sizes: list[int],
    redraw: Callable[[], None],
    redraw_seconds: float,
    smoothing: float,
    snapshot: Callable[[], Any] | None = None,
    snapshots_per_epoch: int = 4,
):
    """A Keras callback that turns Keras's running epoch means back into true per-batch values.

    Keras 3 reports, after batch b, a running mean over the epoch so far, each batch weighted as its
    metric weights it: the loss by the batch's sentences, a masked token accuracy by the batch's real
    tokens. Where a metric is such a ratio of two running sums (a `Mean`'s total and count, a token
    accuracy's correct and total), the batch's own value is read from the sums themselves: the change
    of the numerator over the change of the denominator. For any other metric it falls back on the
    batch's sample count: with S_b samples seen, (S_b·mean_b − S_{b−1}·mean_{b−1}) / n_b. Weighting a
    token metric by sentences instead drew accuracies above 1 when batches of long sentences followed
    batches of short ones. The chart shows an exponential moving average of the batch values,
    bias-corrected so it does not start at zero; the running epoch mean would instead draw a false
    saw-tooth at every epoch boundary.

    With `snapshot`, it also keeps what `snapshot()` returns (the page's second live view) before
    the first batch and `snapshots_per_epoch` times per epoch, evenly spaced in batches.
    """
    import keras  # Imported here so that importing lib.engine.training stays cheap for pages that do not train.

    snapshot_every = max(1, run.batches_per_epoch // max(1, snapshots_per_epoch))

    def take_snapshot() -> None:
        run.snapshots.append({"epoch": run.batches_completed / run.batches_per_epoch, "value": snapshot()})

    class LiveRecorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.last_redraw = 0.0
            self.redraw_cost = 0.0
            self.smoothed: dict[str, float] = {}
            self.smoothing_steps = 0

        def on_train_begin(self, logs=None):
            self.sums: dict[str, tuple] | None = None  # found after the first batch, once Keras has built its metrics
            if snapshot is not None:
                take_snapshot()

        def on_epoch_begin(self, epoch, logs=None):
            self.samples_seen = 0
            self.previous_means: dict[str, float] = {}
            # Keras resets its metrics before each epoch, so every running sum starts the epoch at zero.
            self.previous_sums: dict[str, tuple[float, float]] = {}

        def batch_value(
            self, metric: str, mean: float, in_this_batch: int, seen_after: int, sums: dict[str, tuple[float, float]]
        ) -> float:
            if metric in sums:
                numerator, denominator = sums[metric]
                before_numerator, before_denominator = self.previous_sums.get(metric, (0.0, 0.0))
                self.previous_sums[metric] = (numerator, denominator)
                # Only trusted while the running sums give the mean Keras reports.
                if denominator - before_denominator > 0 and math.isclose(
                    numerator / max(denominator, 1e-12), mean, rel_tol=1e-3, abs_tol=1e-5
                ):
                    return (numerator - before_numerator) / (denominator - before_denominator)
            previous = self.previous_means.get(metric, 0.0)
            return (seen_after * mean - self.samples_seen * previous) / in_this_batch

        def on_train_batch_end(self, batch, logs=None):
            logs = logs or {}
            in_this_batch = batch_sizes[batch % len(batch_sizes)]
            seen_after = self.samples_seen + in_this_batch
            self.smoothing_steps += 1
            run.batches_completed += 1
            epoch_position = run.batches_completed / run.batches_per_epoch
            if self.sums is None:
                self.sums = ratio_sums(self.model, run.metrics)
            sums = read_sums(self.sums)
            for metric in run.metrics:
                if metric not in logs:
                    continue
                mean = float(logs[metric])
                batch_value = self.batch_value(metric, mean, in_this_batch, seen_after, sums)
                self.previous_means[metric] = mean
                smoothed = smoothing * self.smoothed.get(metric, 0.0) + (1 - smoothing) * batch_value
                self.smoothed[metric] = smoothed
                corrected = smoothed / (1 - smoothing**self.smoothing_steps)
                run.batch_rows.append({"metric": metric, "split": "train", "epoch": epoch_position, "value": corrected})
            self.samples_seen = seen_after
            in_epoch = run.batches_completed % run.batches_per_epoch
            # Evenly spaced inside the epoch; the epoch's end takes its own (in on_epoch_end).
            if (
                snapshot is not None
                and in_epoch
                and in_epoch % snapshot_every == 0
                and run.batches_per_epoch - in_epoch >= snapshot_every / 2
            ):
                take_snapshot()
            self.maybe_redraw()

        def maybe_redraw(self):
            # Redraw a few times a second, but back off if drawing is slow (a busy host, a long
            # history), so that drawing never costs more than REDRAW_TIME_BUDGET of the training.
            now = time.perf_counter()
            interval = max(redraw_seconds, self.redraw_cost / REDRAW_TIME_BUDGET)
            if now - self.last_redraw >= interval:
                redraw()
                self.last_redraw = time.perf_counter()
                self.redraw_cost = self.last_redraw - now

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            run.epochs_completed = epoch + 1
            if snapshot is not None:
                take_snapshot()
            # Whole-epoch train values are exact here (the running mean has seen the whole epoch).
            for metric in run.metrics:
                for split, key in (("train", metric), ("validation", f"val_{metric}")):
                    if key in logs:
                        run.epoch_rows.append(
                            {"metric": metric, "split": split, "epoch": float(epoch + 1), "value": float(logs[key])}
                        )
            self.maybe_redraw()

    return LiveRecorder()


def ratio_sums(model, metrics: list[str]) -> dict[str, tuple]:
    """For each charted metric that Keras keeps as a ratio of two running sums (its two scalar
    variables: a `Mean`'s total and count, a token accuracy's correct and total), those variables."""
    found: dict[str, tuple] = {}
    pending = list(getattr(model, "metrics", []))
    while pending:
        metric = pending.pop(0)
        pending.extend(getattr(metric, "metrics", []) if type(metric).__name__ == "CompileMetrics" else [])
        variables = list(getattr(metric, "variables", []))
        if (
            metric.name in metrics
            and metric.name not in found
            and len(variables) == 2
            and all(tuple(variable.shape) == () for variable in variables)
        ):
            found[metric.name] = tuple(variables)
    return found


def read_sums(sums: dict[str, tuple]) -> dict[str, tuple[float, float]]:
    """The current values of `ratio_sums`'s variables, by metric.

    Read after every batch, so read in one stacked tensor when the variables share a dtype (they do for
    Keras's metrics): one TensorFlow call instead of one per variable halved what the reading cost (about
    60 µs a batch saved with two metrics, docs/press-cost-engine.md). The values are the same floats.
    """
    variables = [variable for pair in sums.values() for variable in pair]
    if not variables:
        return {}
    if len({str(variable.dtype) for variable in variables}) == 1:
        import tensorflow as tf

        values = tf.stack([variable.value for variable in variables]).numpy().tolist()
    else:
        values = [float(variable.numpy()) for variable in variables]
    return {metric: (float(values[2 * at]), float(values[2 * at + 1])) for at, metric in enumerate(sums)}


# --- The engine --------------------------------------------------------------------------------


def unique_label(label: str, runs: list[TrainingRun]) -> str:
    """`label`, or `label · run N` if a run of the page already has it: two runs with the same
    settings would otherwise be drawn as one curve and offered as one model."""
    taken = {run.label for run in runs}
    if label not in taken:
        return label
    number = 2
    while f"{label} · run {number}" in taken:
        number += 1
    return f"{label} · run {number}"


@functools.cache
def seeded_batches_class():
    """The Keras dataset of `train_live(..., shuffle_seed=…)`, defined once per process, when first needed."""
    import keras

    class SeededBatches(keras.utils.PyDataset):
        """Arrays x and y in batches of `batch_size`, the examples in a new order every epoch, drawn from
        NumPy's `default_rng([seed, epoch])`. Keras's own shuffle draws from the process's global random state,
        which no run may seed (every session trains in the same process), so two trainings of one run would
        see different batches; these batches are the same in every training of the run, here or elsewhere."""

        def __init__(self, x, y, batch_size, seed, **kwargs):
            super().__init__(**kwargs)
            self.x, self.y, self.batch_size, self.seed = x, y, int(batch_size), int(seed)
            self.epoch = 0  # the epoch whose order comes next
            self.order = self.draw(0)  # what Keras reads of the first batches before training, to learn shapes
            count = len(self.order)
            self.batch_sizes = [min(self.batch_size, count - start) for start in range(0, count, self.batch_size)]

        def draw(self, epoch):
            return np.random.default_rng([self.seed, epoch]).permutation(len(self.y))

        def __len__(self):
            return len(self.batch_sizes)

        def on_epoch_begin(self):
            self.order, self.epoch = self.draw(self.epoch), self.epoch + 1

        def __getitem__(self, index):
            rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
            return self.x[rows], self.y[rows]

    return SeededBatches


def seeded_epochs_dataset(batches, epochs: int):
    """The batches of a `SeededBatches` for all `epochs` at once, as one `tf.data` pipeline, for `fit` with
    `steps_per_epoch=len(batches)`: the same rows in the same order (epoch e in `batches.draw(e)`'s order).

    Given the `PyDataset` itself, Keras wraps it in `tf.data.Dataset.from_generator`, makes a new iterator
    of it at every epoch and calls back into Python for every batch; on the pages' small, many-epoch presses
    that was a large share of a press (docs/press-cost-engine.md). Here every epoch's order is drawn before
    training and the rows are gathered inside TensorFlow; with `steps_per_epoch` set and a dataset of
    unknown length, Keras keeps one iterator for the whole `fit`. The exported train.py keeps the plain
    `SeededBatches`: the batches are the same, so the trained numbers are too.
    """
    import tensorflow as tf

    orders = np.stack([batches.draw(epoch) for epoch in range(epochs)]) if epochs > 0 else np.zeros((0, 0), int)
    x, y, size = tf.constant(batches.x), tf.constant(batches.y), batches.batch_size
    # flat_map keeps each epoch's last, smaller batch where SeededBatches has it (batches never span epochs).
    rows = tf.data.Dataset.from_tensor_slices(orders).flat_map(
        lambda order: tf.data.Dataset.from_tensor_slices(order).batch(size)
    )
    return rows.map(lambda picked: (tf.gather(x, picked), tf.gather(y, picked))).prefetch(2)


def build_optimizer_before_tracing(model) -> None:
    """Create the optimizer's variables (Adam's moments) before `fit` traces the train step, so that it traces once.

    Without a distribution strategy, Keras defers building the optimizer to the first trace of the train step.
    A `tf.function` whose first trace creates variables is traced a second time, without creating them: on the
    Transformer page's press that second trace of the whole train step (forward, gradients, Adam) took about a
    fifth of the press (docs/press-cost.md). Keras builds the optimizer the same way (on the model's trainable
    variables) when a strategy is set, so the training is the same. Skipped when a layer is not built yet (a
    model whose shapes come from its first batch): its variables do not all exist before that trace.
    """
    import keras

    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or getattr(optimizer, "built", True) or not model.trainable_variables:
        return
    # A model whose own `build` makes weights (beside its layers') has them only once it is built.
    builds_own_weights = type(model).build is not keras.Model.build and not model.built
    if builds_own_weights or not all(getattr(layer, "built", True) for layer in _layers_within(model)):
        return
    optimizer.build(model.trainable_variables)


def _layers_within(model) -> list:
    """Every layer of `model`, nested models' layers included."""
    found, pending = [], list(getattr(model, "layers", []))
    while pending:
        layer = pending.pop()
        found.append(layer)
        pending.extend(getattr(layer, "layers", []))
    return found


def train_live(
    model,
    x,
    y=None,
    *,
    validation_data: tuple[Any, Any],
    epochs: int,
    batch_size: int = 32,
    label: str,
    page_key: str,
    settings: dict[str, Any] | None = None,
    metrics: list[str] | None = None,
    area=None,
    redraw_seconds: float = DEFAULT_REDRAW_SECONDS,
    smoothing: float = 0.8,
    extra_callbacks: list | None = None,
    metric_callbacks: list | None = None,
    shuffle: bool = True,
    shuffle_seed: int | None = None,
    references: list[dict] | None = None,
    snapshot: Callable[[], Any] | None = None,
    snapshots_per_epoch: int = 4,
    draw_snapshot: Callable[[Any, dict, TrainingRun], None] | None = None,
) -> TrainingRun:
    """Train a compiled Keras `model` on (x, y) while charting it live; return the recorded run.

    `x` may also be a `keras.utils.PyDataset` that makes its own batches (then `y` is None): it must
    tell the size of each batch in a `batch_sizes` attribute, and keep its batches in that order
    (shuffle the examples into batches once, when it is made). With `shuffle_seed`, arrays are shuffled
    into batches by a seeded order of their own (`seeded_batches_class`), so a run's batches can be drawn
    again, by its exported train.py too.

    The run is stored with the page's other runs before the first batch, so whatever ends the
    training (the last epoch, Stop, a widget moved, the page left) leaves it in session state with
    the history learned so far and the model in its last trained state.
    """
    metrics = metrics or ["loss"]
    job = current_job()  # set when this is a shared press's worker thread, which draws nothing
    area = area if area is not None or job is not None else st.container()
    if shuffle and shuffle_seed is not None and not hasattr(x, "batch_sizes"):
        x, y = seeded_batches_class()(x, y, batch_size, shuffle_seed), None
    if hasattr(x, "batch_sizes"):
        # A dataset that makes its own batches (for instance sentences bucketed by length) says
        # how many examples each holds, so that batch losses can be told apart from Keras's means.
        # Keras would otherwise shuffle the batch order, and the sizes would no longer line up.
        batch_sizes = list(x.batch_sizes)
        fit_data = {"x": x, "shuffle": False}
        if isinstance(x, seeded_batches_class()):
            fit_data = {"x": seeded_epochs_dataset(x, epochs), "steps_per_epoch": len(batch_sizes), "shuffle": False}
    else:
        sample_count = len(x[0]) if isinstance(x, (list, tuple)) else len(x)
        batch_sizes = [min(batch_size, sample_count - start) for start in range(0, sample_count, batch_size)]
        fit_data = {"x": x, "y": y, "batch_size": batch_size, "shuffle": shuffle}
    batches_per_epoch = max(1, len(batch_sizes))
    earlier_runs = list(job.runs if job is not None else page_runs(page_key))
    # `area.container()` appends to a container, but replaces the content of an `st.empty`: a page
    # that trains several models in a row hands every call the same `st.empty` to keep one chart.
    view = None if job is not None else _LiveView(area.container(), metrics, earlier_runs, references, draw_snapshot)
    run = TrainingRun(
        label=unique_label(label, earlier_runs),
        settings=dict(settings or {}),
        metrics=list(metrics),
        epochs_planned=epochs,
        batches_per_epoch=batches_per_epoch,
        model=model,
    )

    # Without it, TensorFlow would keep every traced train step of the process for good (lib/engine/keras_patches.py).
    sum_gradients_without_registering_them()
    build_optimizer_before_tracing(model)
    slots = training_slots()
    slot_held_outside = getattr(_held, "slot", False)  # by `training_slot`, around the page's preparation
    if not slot_held_outside:
        slots.acquire(on_wait=view.show_queue if job is None else lambda ahead: job_waits(job, ahead))
    started = run.started = time.perf_counter()
    if job is not None:
        # The watchers copy the job's runs as they appear, and draw them with the owner's snapshot view.
        job.draw_snapshot = draw_snapshot
        job.runs.append(run)
        job.status = "training"
        # Between batches the worker only asks whether anybody still watches.
        redraw, redraw_seconds = job.check_stop, 0.0
    else:
        _remember(page_key, run)
        redraw = lambda: view.redraw(run, started)  # noqa: E731
    try:
        recorder = _make_recorder(run, batch_sizes, redraw, redraw_seconds, smoothing, snapshot, snapshots_per_epoch)
        extra_callbacks = [*(extra_callbacks or []), *listening_callbacks(page_key, run, job)]
        model.fit(
            **fit_data,
            validation_data=validation_data,
            epochs=epochs,
            verbose=0,
            # Callbacks that write epoch-end values into the logs (a held-out BLEU, say) run before
            # the recorder, which reads the same logs dict; the others run after it.
            callbacks=[*(metric_callbacks or []), recorder, *(extra_callbacks or [])],
        )
        run.status = "finished"
    except BaseException:
        # Stop, a moved widget or a closed tab: keep what was learned and let Streamlit go on.
        run.status = "stopped"
        raise
    finally:
        run.seconds = time.perf_counter() - started
        # The traced train and test steps are only needed by `fit`; a kept model would otherwise hold
        # their graphs (most of a small model's memory) until it is dropped. A later `fit` retraces.
        model.train_function = None
        model.test_function = None
        if not slot_held_outside:
            slots.release()
        run.released.set()
        if job is None:
            notify_run_listeners(page_key, run)
    if view is None:
        return run
    view.progress.empty()
    draw_runs(view.chart, [*earlier_runs, run], metrics, references)
    if draw_snapshot is not None and run.snapshots:
        draw_snapshot(view.snapshot, run.snapshots[-1], run)
    return run


# --- Identical presses train once ---------------------------------------------------------------


# Every watcher of a shared press redraws its own page, in the same process as the training, whose
# Python parts (Keras's loop, the callbacks) wait for the interpreter's lock while a watcher draws. So the
# watchers together may spend this share of one core on their charts, and each updates its progress
# line every PROGRESS_SECONDS × (watchers / PROGRESS_WATCHERS): thirty watchers redraw less often than one.
WATCHERS_DRAW_BUDGET = 0.05
PROGRESS_SECONDS = 0.5
PROGRESS_WATCHERS = 5
# How long a last watcher who pressed Stop waits for the worker to stop, to keep the model it trained.
STOP_WAIT_SECONDS = 15.0


@st.cache_resource(show_spinner=False)
def press_registry() -> PressRegistry:
    """The one registry of shared presses of this process (see lib/engine/shared_presses.py)."""
    return PressRegistry()


def job_waits(job: PressJob, sessions_ahead: int) -> None:
    """A shared press's worker waits for a slot: tell its watchers, and give up when none is left."""
    job.check_stop()
    job.message = queue_message(sessions_ahead)


class _NullArea:
    """The `area` a shared press's worker trains into: it draws nothing, since each watcher draws the
    job's records into its own page. Any Streamlit call on it returns it again, so `area.empty().info(…)`
    and `with area.container():` work unchanged in the pages' training functions."""

    def __getattr__(self, name: str):
        return self._ignore

    def _ignore(self, *args, **kwargs):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *problem) -> bool:
        return False


def _session_id() -> str:
    """This browser session's own name for the shared presses' count of who trained what."""
    return st.session_state.setdefault("shared_presses::session", uuid.uuid4().hex)


def offer_own_training(page_key: str, share: dict[str, Any], disabled: bool = False) -> bool:
    """Under a run served from the cache for the page's current settings: say so, and offer a
    "Train my own" button, which trains a private press. Returns whether it was pressed."""
    runs = page_runs(page_key)
    newest = runs[-1] if runs else None
    if newest is None or newest.served != SERVED or newest.job is None or newest.job.key != press_key(page_key, share):
        return False
    row = st.container(horizontal=True, vertical_alignment="center")
    row.info(
        f"These curves were trained at {newest.job.started:%H:%M} for another session with the same "
        "settings and seed, and are replayed here: the model is the same one. Press **Train my own** to "
        "train a separate copy (or change the seed for a different draw).",
        icon=":material/replay:",
    )
    return row.button(
        "Train my own", icon=":material/fitness_center:", disabled=disabled, key=f"train_my_own::{page_key}"
    )


def _copy_run(source: TrainingRun, page_key: str, job: PressJob, served: str) -> TrainingRun:
    """This session's own record of a shared press's run, kept in its run table."""
    copy = TrainingRun(
        label=unique_label(source.label, page_runs(page_key)),
        settings=dict(source.settings),
        metrics=list(source.metrics),
        epochs_planned=source.epochs_planned,
        batches_per_epoch=source.batches_per_epoch,
        job=job,
        served=served,
    )
    copy.started, copy.source = source.started, source
    _remember(page_key, copy)
    return copy


def _follow(copy: TrainingRun, source: TrainingRun, *, settled: bool) -> None:
    """Bring a copy up to date with the job's run: new curve points, snapshots and counts; once the
    source is settled (trained and measured), its status, model and results too."""
    copy.batch_rows.extend(source.batch_rows[len(copy.batch_rows) :])
    copy.epoch_rows.extend(source.epoch_rows[len(copy.epoch_rows) :])
    copy.snapshots.extend(source.snapshots[len(copy.snapshots) :])
    copy.batches_completed, copy.epochs_completed = source.batches_completed, source.epochs_completed
    if settled and copy.status == "training":
        copy.status, copy.seconds = source.status, source.seconds
        copy.model, copy.results = source.model, dict(source.results)


def _sync(job: PressJob, copies: list[TrainingRun], page_key: str, served: str) -> None:
    """Copy the job's runs into this session: a run is settled once a later one has started (the page
    measured it before training the next) or the job has ended."""
    sources = list(job.runs)
    ended = job.ended.is_set()
    for index, source in enumerate(sources):
        if index == len(copies):
            copies.append(_copy_run(source, page_key, job, served))
        _follow(copies[index], source, settled=ended or index < len(sources) - 1)
        notify_run_listeners(page_key, copies[index])


def watch_press(
    page_key: str,
    metrics: list[str],
    train: Callable[[Any], object],
    share: dict[str, Any],
    area,
    references: list[dict] | None = None,
    *,
    private: bool = False,
) -> list[TrainingRun]:
    """Press Train on a shared key: join the training of that key if one runs, take its finished runs
    from the cache if it trained already, or start it; then draw it live until it ends.

    This session keeps its own copies of the job's runs. Stop or a moved setting ends the watching
    here alone (the copies stay as stopped at the epoch seen); the training goes on for the others,
    and stops when nobody watches. The last watcher to leave waits a moment for it to stop, so that it
    keeps the model trained so far, as a page that trains in its own thread does.
    """
    registry = press_registry()
    key = press_key(page_key, share)
    if private:
        key = press_key(page_key, {**share, "private": f"{_session_id()}:{time.time_ns()}"})
    job, how = registry.join_or_start(key, page_key, _session_id(), lambda job: train(_NullArea()), private=private)
    copies: list[TrainingRun] = []
    if how == "cached":
        _sync(job, copies, page_key, SERVED)
        for copy in copies:
            copy.released.set()
        draw_runs(area, page_runs(page_key), metrics, references)
        return copies
    earlier = list(page_runs(page_key))
    waiting = area.empty()
    view = None
    last_chart, chart_cost, drawn = 0.0, 0.0, (0, 0, 0)
    try:
        while True:
            ended = job.ended.wait(timeout=PROGRESS_SECONDS * max(1.0, job.watchers / PROGRESS_WATCHERS))
            _sync(job, copies, page_key, JOINED)
            if ended:
                break
            if not copies:
                waiting.info(job.message or "Preparing the training…", icon=":material/hourglass_top:")
                continue
            if view is None:
                waiting.empty()
                view = _LiveView(area.container(), metrics, earlier, references, job.draw_snapshot)
            # Earlier runs of the same press (the ConvNet before the MLP) are drawn with the current one,
            # and each run of the press brings its own second view (its curves beside the earlier ones').
            view.earlier_runs = [*earlier, *copies[:-1]]
            view.draw_snapshot = job.draw_snapshot if view.snapshot is not None else None
            view.show_progress(copies[-1], copies[-1].started)
            now = time.perf_counter()
            # Only once the run has a curve, and when it or the second view has something new: at the start of
            # a run, thirty watchers would otherwise each draw an empty chart while the worker traces its graphs.
            seen = (len(copies[-1].batch_rows), len(copies[-1].epoch_rows), len(copies[-1].snapshots))
            if (
                seen != drawn
                and copies[-1].batch_rows
                and now - last_chart
                >= max(DEFAULT_REDRAW_SECONDS, chart_cost * max(1, job.watchers) / WATCHERS_DRAW_BUDGET)
            ):
                view.show_chart(copies[-1])
                last_chart = time.perf_counter()
                chart_cost, drawn = last_chart - now, seen
    except BaseException:
        _leave(registry, job, copies, page_key)
        raise
    finally:
        for copy in copies:
            copy.released.set()
    registry.detach(job)
    waiting.empty()
    if view is not None:
        view.progress.empty()
        view.status.empty()
    if job.status == FAILED:
        area.error(
            f"The training failed: {job.error}. Nothing else was lost; press Train to try again.",
            icon=":material/error:",
        )
    draw_runs(view.chart if view is not None else area, page_runs(page_key), metrics, references)
    if view is not None and view.draw_snapshot is not None and copies and copies[-1].snapshots:
        view.draw_snapshot(view.snapshot, copies[-1].snapshots[-1], copies[-1])
    return copies


def _leave(registry: PressRegistry, job: PressJob, copies: list[TrainingRun], page_key: str) -> None:
    """This session stops watching (Stop, a moved setting, a closed tab). Its copies end as stopped at
    what it saw; when it was the last watcher, the training stops too, and the copy of the run cut
    short keeps the model (the worker stops at its next batch)."""
    last = registry.detach(job)
    # A job still preparing (before its first batch) has trained nothing to keep: no reason to wait.
    if last and job.runs and job.ended.wait(timeout=STOP_WAIT_SECONDS):
        _sync(job, copies, page_key, JOINED)
    for copy in copies:
        if copy.status == "training":
            copy.status = "stopped"
            copy.seconds = time.perf_counter() - copy.started
            # Still running after the wait (an epoch's end measuring, on a busy server): the model is
            # taken when the page next reads its runs after the job has stopped (`page_runs`).
            copy.heir = last
            copy.left_shared = not last


# --- Who else hears about a session's runs -------------------------------------------------------

# A session may register listeners that hear of its runs as they progress: at each epoch's end and
# when a run ends (finished or stopped), including the runs it watches or is served as a shared press.
# The engine does not know who listens (a workshop room publishes the runs: lib/page_glue/room.py);
# a listener is called in the session's own script thread, must return quickly (throttle its own work)
# and can never break a training: whatever it raises is dropped.
RUN_LISTENERS_KEY = "training::run_listeners"


def run_listeners() -> dict[str, Callable[[str, TrainingRun], None]]:
    """This session's run listeners, by name: each is called as `listener(page_key, run)`."""
    return st.session_state.setdefault(RUN_LISTENERS_KEY, {})


def add_run_listener(name: str, listener: Callable[[str, TrainingRun], None]) -> None:
    run_listeners()[name] = listener


def remove_run_listener(name: str) -> None:
    run_listeners().pop(name, None)


def notify_run_listeners(page_key: str, run: TrainingRun) -> None:
    """Tell this session's listeners that `run` has moved on (an epoch ended, or it ended)."""
    try:
        listeners = list(run_listeners().values())
    except Exception:  # no session (a worker thread, a bare script): nobody listens
        return
    for listener in listeners:
        try:
            listener(page_key, run)
        except Exception:
            pass  # a listener never breaks a training


def listening_callbacks(page_key: str, run: TrainingRun, job: PressJob | None) -> list:
    """The Keras callback that tells this session's listeners at each epoch's end (none in a shared
    press's worker thread, which has no session: its watchers tell their own, see `_sync`)."""
    if job is not None:
        return []
    import keras

    class RunListening(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            notify_run_listeners(page_key, run)

    return [RunListening()]

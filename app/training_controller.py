"""Runs training from the window: builds the trainer, drives the worker, feeds the views.

Training runs in a child process (or a thread); its snapshots arrive by signal; this
controller keeps only the latest pictures and the curve points, and a timer redraws at most
~40 times a second (docs/ARCHITECTURE.md, "Data flow").
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import numpy as np
from PySide6 import QtCore

from engine import api
from engine.api import Model, Trainer, TrainSnapshot, make_trainer
from engine.checkpoint import TrainedModel, density_record, load_trained, save_checkpoint
from engine.densities import Density
from engine.device import resolve_device
from engine.errors import InputError
from widgets.curves_view import CurvesView
from widgets.density_view import DensityView
from widgets.train_panel import TrainPanel

from .thinning import kept_snapshot
from .train_process import ProcessWorker
from .worker import GeneratorWorker

__all__ = ["TrainingController", "describe_progress", "pending_note"]

REDRAW_MS = 25
# curves and the progress line change slowly and cost a few ms each: redrawn at most ~5 times a second
SLOW_REDRAW_S = 0.2
# "process" (default: no GIL shared with drawing, see app/train_process.py) or "thread"
TRAIN_IN = os.environ.get("FLOWSCOPE_TRAIN_IN", "process")


def describe_progress(s: TrainSnapshot) -> str:
    """'step 120/2000 · loss 2.91 · held-out NLL 2.85 · 95 steps/s · 12 s left'"""
    parts = [f"step {s.step}" + (f"/{s.total_steps}" if s.total_steps else ""), f"loss {s.loss:.3f}"]
    if s.metric is not None and s.metric_name:
        parts.append(f"{s.metric_name} {s.metric:.3f}")
    parts.append(f"{s.steps_per_s:.0f} steps/s")
    left = None
    if s.budget_seconds:
        left = max(0.0, s.budget_seconds - s.elapsed)
    elif s.total_steps and s.steps_per_s > 0:
        left = (s.total_steps - s.step) / s.steps_per_s
    if left is not None:
        parts.append(f"{left:.0f} s left")
    return "  ·  ".join(parts)


def pending_note(kind: str, options: dict[str, Any]) -> str:
    """What the metric chart says until a run's first measure: a family that measures its held-out
    NLL every few seconds of training (``eval_every``) leaves the chart empty that long (the CNF
    measures its untrained baseline first, which hides the note at once); '' for the families that
    measure every moment (the diffusion families' TV)."""
    every = {**api.default_options(kind), **options}.get("eval_every")
    if not isinstance(every, (int, float)) or every <= 0:
        return ""
    return f"the first figure comes\nafter {every:g} s of training"


class TrainingController(QtCore.QObject):
    """Owns one training run at a time and the trained model that results.

    Signals: ``model_ready(object)`` with a TrainedModel after training, loading or a failure
    that kept a good model; ``message(str)`` for the status bar; ``error(str)`` for a dialog.
    """

    model_ready = QtCore.Signal(object)
    live_model = QtCore.Signal(object)  # a TrainedModel of the run so far, every few seconds
    message = QtCore.Signal(str)
    error = QtCore.Signal(str)
    run_finished = QtCore.Signal(str)

    def __init__(self, panel: TrainPanel, curves: CurvesView, model_view: DensityView,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.panel, self.curves, self.model_view = panel, curves, model_view
        self.density: Density | None = None
        self.density_spec = ""
        self.trainer: Trainer | None = None
        self.worker: GeneratorWorker | ProcessWorker | None = None
        self._kind = ""
        self.trained: TrainedModel | None = None
        self.latest: TrainSnapshot | None = None
        self._samples: np.ndarray | None = None
        self._grid: np.ndarray | None = None
        self._dirty = False
        self._slow_pending = False
        self._slow_at = 0.0
        self._metric_name = ""
        self._metric_reference: float | None = None  # the trainer's figure for a perfect model, if any
        self.redraws = 0
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self._redraw)
        panel.train_requested.connect(self.start)
        panel.pause_requested.connect(self.pause)
        panel.resume_requested.connect(self.resume)
        panel.stop_requested.connect(self.stop)
        panel.reset_requested.connect(self.reset)
        panel.option_changed.connect(self._on_option_changed)
        panel.model_changed.connect(self._on_model_changed)
        self._name_metric(panel.model())

    # -- density -----------------------------------------------------------------
    def set_density(self, density: Density, spec: str) -> None:
        """A new density: a model trained on another density no longer applies."""
        self.density, self.density_spec = density, spec
        if not self.running:
            self._metric_reference = None  # it was measured on the old density
            self.reset()
        self.update_reference()

    def _on_model_changed(self, kind: str) -> None:
        if not self.running:
            self._name_metric(kind)

    def _name_metric(self, kind: str) -> None:
        """Title the quality chart with what ``kind``'s runs measure, before their first figure (and show
        the true entropy under an NLL chart from the start)."""
        if kind in api.FAMILIES:
            name = api.metric_name(kind)  # another figure: the old one's perfect value does not apply
            self._show_metric(name, self._metric_reference if name == self._metric_name else None)

    def _show_metric(self, name: str, reference: float | None) -> None:
        """The quality chart's title and its perfect value (None: the true entropy under an NLL, if known)."""
        self._metric_name, self._metric_reference = name, reference
        self.curves.set_metric_name(name)
        self.update_reference()

    def update_reference(self) -> None:
        """What a perfect model would read, as a dashed line on the quality curve: the true entropy
        under an NLL curve (exact densities only, once known: its estimate is made off the GUI thread,
        which calls this again once it is known), an exact sample's TV under a TV curve (the trainer
        measures it); no line where neither is known."""
        d = self.density
        ref = self._metric_reference
        if ref is not None:
            self.curves.set_reference(ref, f"exact sample {ref:.3f}")
        elif d is not None and "NLL" in self._metric_name and (ent := d.entropy_if_known()) is not None:
            self.curves.set_reference(ent, f"true entropy {ent:.3f}")
        else:
            self.curves.set_reference(None)

    @property
    def running(self) -> bool:
        return self.worker is not None

    # -- the run -------------------------------------------------------------------
    def start(self) -> bool:
        if self.running or self.density is None:
            return False
        kind = self._kind = self.panel.model()
        steps, seconds = self.panel.budget_value()
        try:
            device = resolve_device(self.panel.device_key())
            api.family(kind)
        except (InputError, ImportError) as e:
            self.error.emit(str(e))
            return False
        self.curves.clear()
        self._name_metric(kind)
        self.curves.set_pending(pending_note(kind, self.panel.options()))
        self._samples = self._grid = None
        self.latest = None
        self.trainer = None
        if TRAIN_IN == "thread":
            try:
                trainer = make_trainer(kind, self.density, self.panel.options(), device, self.panel.seed.value())
            except InputError as e:
                self.error.emit(str(e))
                return False
            self.trainer = trainer
            self.worker = GeneratorWorker(lambda: trainer.run(steps=steps, seconds=seconds),
                                          keep=kept_snapshot)
        else:
            self.worker = ProcessWorker({"family": api.FAMILIES[kind], "kind": kind, "density": self.density,
                                         "options": self.panel.options(), "device": str(device),
                                         "seed": self.panel.seed.value(), "steps": steps, "seconds": seconds})
            self.worker.model_updated.connect(self._on_model_updated)
        self.worker.yielded.connect(self._on_snapshot)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.panel.set_state("running")
        self.panel.set_progress(0.0, f"Starting {kind} on {self.density.name} ({device})…")
        self._t0 = time.monotonic()
        self.worker.start()
        self.timer.start()
        return True

    def pause(self) -> None:
        if self.worker:
            self.worker.pause()
            self.panel.set_state("paused")
            self.message.emit("Training paused")

    def resume(self) -> None:
        if self.worker:
            self.worker.resume()
            self.panel.set_state("running")
            self.message.emit("Training resumed")

    def stop(self) -> None:
        if self.worker:
            self.worker.stop()

    def toggle(self) -> None:
        """Ctrl+Enter: train, pause or resume, whichever applies."""
        {"running": self.pause, "paused": self.resume}.get(self.panel.state, self.start)()

    def reset(self) -> None:
        if self.running:
            return
        self.trainer, self.trained, self.latest = None, None, None
        self._samples = self._grid = None
        self.curves.clear()
        self.model_view.set_density(None, self.density.box if self.density else (-4.0, 4.0, -4.0, 4.0))
        self.model_view.set_points(None)
        self.model_view.set_title("model: not trained yet")
        self.panel.set_state("idle")
        self.panel.set_progress(0.0, "Not trained yet")

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop any run and wait for its thread (closing the window)."""
        self.timer.stop()
        if self.worker is None:
            return True
        worker, self.worker = self.worker, None
        for sig in (worker.yielded, worker.finished, worker.failed):
            sig.disconnect()
        return worker.shutdown(timeout_ms)

    # -- worker signals (GUI thread) ------------------------------------------------
    def _on_snapshot(self, s: TrainSnapshot) -> None:
        self.latest = s
        if s.note:
            self.message.emit(s.note)
        for step, loss, metric in s.between:
            self.curves.add_point(step, loss, metric)
        self.curves.add_point(s.step, s.loss, s.metric)
        if (s.metric_name and s.metric_name != self._metric_name) or \
                (s.metric_reference is not None and s.metric_reference != self._metric_reference):
            self._show_metric(s.metric_name or self._metric_name, s.metric_reference)
        if s.samples is not None:
            self._samples = s.samples
        if s.density is not None:
            self._grid = s.density
        self._dirty = True

    def _on_model_updated(self, ckpt: dict[str, Any]) -> None:
        if self.worker is None or self.density is None:
            return
        model = api.family(self._kind).load_model(ckpt, resolve_device("cpu"))
        self.live_model.emit(TrainedModel(model, density_record(self.density, self.density_spec), {}))

    def _on_finished(self, how: str) -> None:
        worker = self._end_run()
        self._publish_model("Training " + ("stopped" if how == "stopped" else "finished"), worker)
        self.run_finished.emit(how)

    def _on_failed(self, text: str) -> None:
        worker = self._end_run()
        kept = self._publish_model("Training failed", worker)
        note = " The last good model is kept." if kept else ""
        self.error.emit(f"Training stopped: {text}{note}")
        self.run_finished.emit("failed")

    def _end_run(self) -> GeneratorWorker | ProcessWorker | None:
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.shutdown(5000)
        self.timer.stop()
        self._redraw(final=True)
        return worker

    def _best_model(self, worker: GeneratorWorker | ProcessWorker | None) -> Model | None:
        if self.trainer is not None:
            return self.trainer.best_model()
        ckpt = getattr(worker, "checkpoint", None)
        if ckpt is None:
            return None
        return api.family(self._kind).load_model(ckpt, resolve_device("cpu"))

    def _publish_model(self, what: str, worker: GeneratorWorker | ProcessWorker | None) -> bool:
        model = self._best_model(worker) if self.latest is not None else None
        if model is None or self.latest is None or self.density is None:
            self.panel.set_state("idle")
            self.panel.set_progress(0.0, f"{what} before the first step")
            return False
        metrics = {"steps": self.latest.step, "seconds": round(self.latest.elapsed, 2),
                   "heldout_nll": _finite(self.latest.heldout_nll), "best_step": self.latest.best_step,
                   "seed": self.panel.seed.value()}
        self.trained = TrainedModel(model, density_record(self.density, self.density_spec), metrics)
        self.panel.set_state("trained")
        self.panel.set_progress(1.0 if what.endswith("finished") else self.latest.fraction_done,
                                f"{what} · {describe_progress(self.latest)}")
        self.message.emit(what)
        self.model_ready.emit(self.trained)
        return True

    def _redraw(self, final: bool = False) -> None:
        """The latest samples and density every tick; curves and progress at most every SLOW_REDRAW_S."""
        if self.latest is None:
            return
        s = self.latest
        if self._dirty:
            self._dirty, self._slow_pending = False, True
            if self._grid is not None and self.density is not None:
                self.model_view.set_density(self._grid, self.density.box)
            if self._samples is not None:
                self.model_view.set_points(self._samples)
            self.redraws += 1
        now = time.monotonic()
        if self._slow_pending and (final or now - self._slow_at >= SLOW_REDRAW_S):
            self._slow_pending, self._slow_at = False, now
            self.curves.redraw()
            self.panel.set_progress(s.fraction_done, describe_progress(s))
            self.model_view.set_title(f"model samples · step {s.step}")  # a new title lays the plot out again

    def _on_option_changed(self, name: str, value: Any) -> None:
        if name == "conditional":
            self.apply_conditional_defaults(bool(value))
        if name == "lr" and self.worker is not None:
            if isinstance(self.worker, ProcessWorker):
                self.worker.set_learning_rate(float(value))
            elif self.trainer is not None:
                self.trainer.set_learning_rate(float(value))
            self.message.emit(f"Learning rate set to {value:g}")

    def set_conditional(self, conditional: bool) -> None:
        """Tick or untick Class-conditional (where the model has it), moving the untouched knobs with it."""
        form = self.panel.forms[self.panel.model()]
        if "conditional" in form.editors and form.value("conditional") != conditional:
            form.set_value("conditional", conditional)
            self.apply_conditional_defaults(conditional)

    def apply_conditional_defaults(self, conditional: bool) -> None:
        """A class-conditional model has its own defaults: move the knobs the user left at a default."""
        model = self.panel.model()
        form = self.panel.forms[model]
        old, new = api.default_options(model, not conditional), api.default_options(model, conditional)
        changed = []
        for key in form.editors:
            if key == "conditional" or old.get(key) == new.get(key) or key not in new:
                continue
            current = form.value(key)
            if isinstance(current, (int, float)) and math.isclose(float(current), float(old[key]), rel_tol=1e-6):
                form.set_value(key, new[key])
                changed.append(f"{key} {new[key]:g}")
        if changed:
            kind = "class-conditional" if conditional else "unconditional"
            self.message.emit(f"Defaults for a {kind} model: {', '.join(changed)}")

    # -- checkpoints ----------------------------------------------------------------
    def save(self, path: str) -> None:
        if self.trained is None:
            raise InputError("there is no trained model to save yet")
        save_checkpoint(path, self.trained.to_checkpoint())
        self.message.emit(f"Saved the model to {path}")

    def load(self, path: str) -> TrainedModel:
        """Read a checkpoint (refusing anything unsafe) without showing it yet."""
        if self.running:
            raise InputError("stop training before opening a model")
        return load_trained(path)

    def adopt(self, tm: TrainedModel, note: str | None = None) -> None:
        """Show a loaded model (or one made in a view: a reflow) as the current one, and set the form for
        the next run like it (class-conditional or not), so that Train retrains the kind of model shown.
        ``note`` is the progress line (default: how many steps the opened model was trained)."""
        self.trained, self.trainer, self.latest = tm, None, None
        self.curves.clear()
        self.panel.set_model(tm.kind)
        self.set_conditional(getattr(tm.model, "num_classes", 0) > 0)
        self.panel.set_state("trained")
        self.panel.set_progress(1.0, note or f"Opened {tm.kind} model · trained {tm.metrics.get('steps', '?')} steps")
        self.model_ready.emit(tm)


def _finite(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)

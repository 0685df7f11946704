"""The guidance lab's sampling queue: one background job at a time, the slider always answered.

Policy: a job holding a preview (the guided panel while γ moves) is never interrupted, so each
slider move gets an answer; requests made meanwhile wait, the latest per panel winning. A job
of full-quality samples is dropped as soon as something new is asked (its worker stops between
two sampler steps) and what it had not delivered is asked again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .compute import PanelSamples, Request

__all__ = ["PanelQueue"]

ORDER = ("guided", "conditional", "unconditional")  # the guided panel first: the slider moves it

Job = Callable[[], Iterator[PanelSamples | None]]


class PanelQueue:
    """Arguments:
        run: starts a job on the worker, replacing the running one (``Lab.run_in_background``).
        make_job: the job for some requests with the current model, or None without one.
        show: called on the GUI thread with each panel's samples.
        idle: called when the last job has delivered everything and nothing waits.
    """

    def __init__(self, run: Callable[..., Any], make_job: Callable[[list[Request]], Job | None],
                 show: Callable[[PanelSamples], None], idle: Callable[[], None]) -> None:
        self._run, self._make_job, self._show, self._idle = run, make_job, show, idle
        self.running: list[Request] = []  # what the running job has still to deliver
        self.pending: dict[str, Request] = {}

    def ask(self, requests: list[Request]) -> None:
        for req in requests:
            self.pending[req.panel] = req
        if not any(r.preview for r in self.running):
            self._start()

    def forget(self) -> None:
        """The worker was stopped from outside: nothing is running any more."""
        self.running = []

    @property
    def settled(self) -> bool:
        return not self.running and not self.pending

    def _start(self) -> None:
        for req in self.running:  # what a dropped job had not delivered, unless asked again since
            self.pending.setdefault(req.panel, req)
        reqs = [self.pending.pop(p) for p in ORDER if p in self.pending]
        job = self._make_job(reqs) if reqs else None
        self.running = reqs if job is not None else []
        if job is not None:
            worker = self._run(job, self._on_panel_sampled)
            worker.failed.connect(self._on_failed)

    def _on_panel_sampled(self, ps: PanelSamples | None) -> None:
        if ps is None:  # one sampler step went by
            return
        self.running = [r for r in self.running if r is not ps.request]
        self._show(ps)
        if not self.running:
            if self.pending:
                self._start()
            else:
                self._idle()

    def _on_failed(self, _text: str) -> None:
        self.running = []

"""The child side of training in a process (see app/train_process.py); imports no Qt."""

from __future__ import annotations

import os
import time
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["child_main"]

SEND_INTERVAL = 0.03
MODEL_INTERVAL = 5.0  # seconds between live copies of the model for the views


def _checkpoint(trainer: Any) -> bytes | None:
    """The best model's checkpoint as torch.save bytes (torch's own pickling of tensors would
    share memory through file descriptors that die with this process)."""
    import io

    import torch

    try:
        buf = io.BytesIO()
        torch.save(trainer.best_model().to_checkpoint(), buf)
        return buf.getvalue()
    except Exception:  # noqa: BLE001 - no good model yet
        return None


class _Controls:
    def __init__(self, ctrl: Connection, trainer: Any) -> None:
        self.ctrl, self.trainer = ctrl, trainer
        self.paused = self.stopped = False

    def handle(self, msg: object) -> None:
        if msg == "pause":
            self.paused = True
        elif msg == "resume":
            self.paused = False
        elif msg in ("stop", "quit"):
            self.stopped, self.paused = True, False
        elif isinstance(msg, tuple) and msg[0] == "lr":
            self.trainer.set_learning_rate(float(msg[1]))

    def poll(self, timeout: float = 0.0) -> None:
        try:
            while self.ctrl.poll(timeout):
                self.handle(self.ctrl.recv())
                timeout = 0.0
        except (EOFError, OSError):
            self.stopped, self.paused = True, False  # the window went away


def _run_job(job: dict[str, Any], ctrl: Connection, data: Connection) -> None:
    import torch

    from app.messages import readable_error
    from app.thinning import Thinner, kept_snapshot

    trainer = None
    try:
        from engine.api import make_trainer

        trainer = make_trainer(job["kind"], job["density"], job["options"], torch.device(job["device"]), job["seed"],
                               module=job["family"])
        c = _Controls(ctrl, trainer)
        thin = Thinner(SEND_INTERVAL, kept_snapshot)
        next_model = time.monotonic() + MODEL_INTERVAL
        for snap in trainer.run(steps=job["steps"], seconds=job["seconds"]):
            c.poll()
            now = time.monotonic()
            if now >= next_model:
                data.send(("model", _checkpoint(trainer)))
                next_model = now + MODEL_INTERVAL
            out = thin.offer(snap, now)
            if out is not None:
                data.send(("snapshot", out))
            while c.paused:
                out = thin.flush()
                if out is not None:
                    data.send(("snapshot", out))
                c.poll(0.05)
            if c.stopped:
                break
        out = thin.flush()
        if out is not None:
            data.send(("snapshot", out))
        data.send(("finished", "stopped" if c.stopped else "done", _checkpoint(trainer)))
    except (BrokenPipeError, ConnectionResetError):
        return  # the window is gone (closed or killed): nobody to tell, nothing to print
    except Exception as e:  # noqa: BLE001 - every failure reaches the window as a message
        try:
            data.send(("failed", readable_error(e), None if trainer is None else _checkpoint(trainer)))
        except OSError:
            return


def child_main(ctrl: Connection, data: Connection) -> None:
    """Entry point of the child: warm up, wait for one job, run it, exit."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import engine.api  # import torch and the engine before the job arrives
    from engine.device import configure_threads
    configure_threads()
    engine.api.warm_up()  # and what a run's first step would load: Train then shows a picture at once
    try:
        job = ctrl.recv()
    except (EOFError, OSError):
        return
    if job == "quit":
        return
    _run_job(job, ctrl, data)
    data.close()



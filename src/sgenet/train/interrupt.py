"""How a training run stops early: :class:`TrainingDiverged` (non-finite losses or weights), and cleanly on
request: the first Ctrl-C / SIGTERM asks the loop to stop after the current
step (it then writes a checkpoint and raises :class:`TrainingInterrupted`); a second Ctrl-C stops at once."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any


class TrainingDiverged(RuntimeError):
    """Raised after ``run.max_bad_steps`` consecutive non-finite losses, or when the final weights
    are not finite (they are then not written)."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) or SIGTERM during :meth:`Trainer.fit`: raised after a checkpoint of the last
    completed step was written. ``checkpoint`` is its path (None if none could be written)."""

    def __init__(self, message: str, checkpoint: Path | None = None) -> None:
        super().__init__(message)
        self.checkpoint = checkpoint


class StopRequests:
    """Context manager that turns SIGINT/SIGTERM into a request (``signum``) the loop polls.

    Active only when ``enabled`` and in the main thread (under DDP a save is collective, so a single
    rank must not stop on its own); the previous handlers come back on exit.
    """

    def __init__(self, enabled: bool, announce: Callable[[str], None]) -> None:
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.announce = announce
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else "signal"

    def _handler(self, signum, frame) -> None:
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = signum
        self.announce(f"{signal.Signals(signum).name}: stopping after this step with a checkpoint "
                      "(Ctrl-C again to stop at once)")

    def __enter__(self) -> StopRequests:
        if self.enabled:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.getsignal(sig)
                signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)
        self._previous.clear()

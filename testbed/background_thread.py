"""A daemon thread that runs while a `with` block does: the benchmark's process-tree monitor, API watchers
and event sink, the fault suite's count of reconciles running at once."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import Self


class BackgroundThread(ABC):
    """Runs `loop` on a daemon thread from entering a `with` block until leaving it, which calls `stop` and
    waits `join_timeout` seconds for `loop` to return (None: as long as it takes)."""

    def __init__(self, name: str, join_timeout: float | None = None) -> None:
        self._stop = threading.Event()
        self._join_timeout = join_timeout
        self._thread = threading.Thread(target=self.loop, name=name, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
        self._thread.join(timeout=self._join_timeout)

    def stop(self) -> None:
        """Make `loop` return: by default it watches `_stop`."""
        self._stop.set()

    @abstractmethod
    def loop(self) -> None: ...


class Sampler(BackgroundThread):
    """Calls `sample` every `interval` seconds in the background, the first time one interval in."""

    def __init__(self, name: str, interval: float, join_timeout: float | None = None) -> None:
        super().__init__(name, join_timeout)
        self.interval = interval

    def loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    @abstractmethod
    def sample(self) -> None: ...

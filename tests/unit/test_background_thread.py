"""A daemon thread tied to a `with` block (testbed/background_thread.py)."""

from __future__ import annotations

import threading
import time

from testbed.background_thread import BackgroundThread, Sampler


class Counter(Sampler):
    def __init__(self) -> None:
        super().__init__("counter", interval=0.01)
        self.samples = 0

    def sample(self) -> None:
        self.samples += 1


class Waiter(BackgroundThread):
    """A loop that ends on its own event instead of `_stop`."""

    def __init__(self) -> None:
        super().__init__("waiter", join_timeout=5)
        self.done = threading.Event()

    def loop(self) -> None:
        self.done.wait()

    def stop(self) -> None:
        self.done.set()


def test_a_sampler_samples_until_the_block_ends() -> None:
    deadline = time.monotonic() + 5
    with Counter() as counter:
        while counter.samples < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert counter.samples >= 3, "the sampler did not sample three times within 5 s"
    assert not counter._thread.is_alive()


def test_leaving_the_block_stops_the_loop_its_own_way() -> None:
    with Waiter() as waiter:
        assert waiter._thread.is_alive()
    assert waiter.done.is_set()
    assert not waiter._thread.is_alive()

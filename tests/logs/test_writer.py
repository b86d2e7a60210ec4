"""The log writer (claude_gw/logs/writer.py): whole lines, exactly once, never blocking the loop.

The disk is slowed down, stalled or broken through `LogWriter(write_fn=...)`, the injection
point for `os.write`.
"""

from __future__ import annotations

import asyncio
import errno
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest

from claude_gw.logs.writer import LogWriter
from tests import waiting

TIMEOUT = 10.0


def wait_until(condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    waiting.wait_until(condition, timeout, "the writer", every=0.002)


def line(source: str, n: int, pad: int = 0) -> bytes:
    return orjson.dumps({"source": source, "n": n, "pad": "x" * pad}) + b"\n"


def read_ids(path: Path) -> list[tuple[str, int]]:
    """(source, n) of every line, failing on any line that is not whole JSON."""
    if not path.exists():
        return []
    ids = []
    for raw in path.read_bytes().splitlines():
        doc = orjson.loads(raw)
        ids.append((doc["source"], doc["n"]))
    return ids


class GatedDisk:
    """`os.write`, but only while the gate is open; records every call's bytes."""

    def __init__(self, *, open_: bool = True, delay: float = 0.0) -> None:
        self.gate = threading.Event()
        self.entered = threading.Event()  # set once the writer thread reached the disk
        if open_:
            self.gate.set()
        self.delay = delay
        self.calls: list[bytes] = []

    def __call__(self, fd: int, data: bytes) -> int:
        self.entered.set()
        assert self.gate.wait(TIMEOUT), "the test never opened the gate"
        if self.delay:
            time.sleep(self.delay)
        self.calls.append(bytes(data))
        return os.write(fd, data)


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "logs" / "claude.json"


@pytest.fixture
def errors() -> list[Exception]:
    return []


@pytest.fixture
def writer(log_path: Path, errors: list[Exception]) -> Iterator[LogWriter]:
    with LogWriter(log_path, on_error=errors.append) as started:
        yield started


# --------------------------------------------------------------------------- exactly once


def test_threads_and_an_event_loop_writing_together_lose_and_mangle_nothing(
    writer: LogWriter, log_path: Path, errors: list[Exception]
) -> None:
    threads, per_thread = 8, 2000

    def produce(name: str) -> None:
        for n in range(per_thread):
            writer.write(line(name, n, pad=n % 700))

    async def produce_async() -> None:
        for n in range(per_thread):
            writer.write(line("loop", n, pad=n % 300))
            if n % 50 == 0:
                await asyncio.sleep(0)

    workers = [threading.Thread(target=produce, args=(f"t{i}",)) for i in range(threads)]
    for worker in workers:
        worker.start()
    asyncio.run(produce_async())
    for worker in workers:
        worker.join(TIMEOUT)
    writer.close()

    ids = read_ids(log_path)
    expected = {(f"t{i}", n) for i in range(threads) for n in range(per_thread)}
    expected |= {("loop", n) for n in range(per_thread)}
    assert len(ids) == len(expected) and set(ids) == expected
    assert (writer.lines_written, writer.lines_failed, errors) == (len(expected), 0, [])


def test_two_writers_on_one_file_never_interleave_large_lines(log_path: Path) -> None:
    # Two writers have two descriptors, like two processes appending to the same file.
    first, second = LogWriter(log_path), LogWriter(log_path)
    with first, second:

        def produce(target: LogWriter, name: str) -> None:
            for n in range(300):
                target.write(line(name, n, pad=20_000 + n))

        workers = [
            threading.Thread(target=produce, args=(first, "a")),
            threading.Thread(target=produce, args=(second, "b")),
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(TIMEOUT)
    ids = read_ids(log_path)
    assert sorted(ids) == sorted([("a", n) for n in range(300)] + [("b", n) for n in range(300)])


def test_lines_queued_together_go_out_in_one_write_of_whole_lines(log_path: Path) -> None:
    disk = GatedDisk(open_=False)
    with LogWriter(log_path, write_fn=disk) as writer:
        for n in range(500):
            writer.write(line("q", n))
        disk.gate.set()
    assert len(disk.calls) < 10  # 500 lines, a handful of writes
    assert all(call.endswith(b"\n") for call in disk.calls)
    assert read_ids(log_path) == [("q", n) for n in range(500)]


def test_lines_written_a_moment_apart_share_a_batch_and_a_lone_line_goes_out_soon(
    log_path: Path,
) -> None:
    # one thread wake-up per batch: 40 lines 0.5 ms apart (a busy gateway) within a linger of
    # 100 ms go out in a few writes, not 40; a line on its own still reaches the disk promptly
    disk = GatedDisk()
    with LogWriter(log_path, write_fn=disk, linger=0.1) as writer:
        for n in range(40):
            writer.write(line("burst", n))
            time.sleep(0.0005)
        wait_until(lambda: writer.lines_written == 40)
        assert len(disk.calls) <= 4
        began = time.monotonic()
        writer.write(line("alone", 0))
        wait_until(lambda: writer.lines_written == 41)
        assert time.monotonic() - began < 2.0
    assert read_ids(log_path)[-1] == ("alone", 0)


def test_a_line_without_a_newline_gets_one(writer: LogWriter, log_path: Path) -> None:
    writer.write(b'{"source":"s","n":1}')
    writer.write(b'{"source":"s","n":2}\n')
    writer.close()
    assert log_path.read_bytes() == b'{"source":"s","n":1}\n{"source":"s","n":2}\n'


# --------------------------------------------------------------------------- rotation


def test_a_file_renamed_away_keeps_its_lines_and_new_lines_go_to_the_original_path(
    writer: LogWriter, log_path: Path
) -> None:
    for n in range(100):
        writer.write(line("before", n))
    wait_until(lambda: writer.lines_written == 100)
    moved = log_path.with_name("claude.json.1")
    log_path.rename(moved)
    for n in range(50):
        writer.write(line("after", n))
    writer.close()
    assert read_ids(moved) == [("before", n) for n in range(100)]
    assert read_ids(log_path) == [("after", n) for n in range(50)]


def test_renaming_while_lines_stream_in_loses_none(writer: LogWriter, log_path: Path) -> None:
    renamed = threading.Event()
    written: list[int] = []

    def produce() -> None:
        # lines keep coming while the file is renamed, and 5,000 more after that
        n, last = 0, None
        while last is None or n < last:
            writer.write(line("p", n))
            n += 1
            if last is None and renamed.is_set():
                last = n + 5_000
        written.append(n)

    producer = threading.Thread(target=produce)
    producer.start()
    wait_until(lambda: writer.lines_written > 500)
    moved = log_path.with_name("claude.json.1")
    log_path.rename(moved)
    renamed.set()
    producer.join(TIMEOUT)
    writer.close()
    old, new = read_ids(moved), read_ids(log_path)
    assert old and new
    assert sorted(old + new, key=lambda pair: pair[1]) == [("p", n) for n in range(written[0])]


def test_a_deleted_log_file_is_recreated_at_the_same_path(
    writer: LogWriter, log_path: Path
) -> None:
    writer.write(line("before", 0))
    wait_until(lambda: writer.lines_written == 1)
    log_path.unlink()
    writer.write(line("after", 0))
    writer.close()
    assert read_ids(log_path) == [("after", 0)]
    assert writer.lines_written == 2


def test_the_parent_directory_is_created_and_the_file_is_0644(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "claude.json"
    umask = os.umask(0o022)
    try:
        with LogWriter(path) as writer:
            writer.write(line("x", 0))
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644
    assert read_ids(path) == [("x", 0)]


# --------------------------------------------------------------------------- close


def test_close_flushes_everything_queued_even_on_a_slow_disk(log_path: Path) -> None:
    writer = LogWriter(log_path, write_fn=GatedDisk(delay=0.002))
    writer.start()
    for n in range(300):
        writer.write(line("slow", n))
        if n % 100 == 0:
            time.sleep(0.01)  # several batches, each slowed down
    writer.close()
    assert read_ids(log_path) == [("slow", n) for n in range(300)]
    assert writer.lines_written == 300


def test_close_is_idempotent_and_later_lines_are_counted_as_failed(
    writer: LogWriter, errors: list[Exception]
) -> None:
    writer.write(line("x", 0))
    writer.close()
    writer.close()
    writer.write(line("late", 0))
    assert (writer.lines_written, writer.lines_failed) == (1, 1)
    assert len(errors) == 1 and "closed" in str(errors[0])


def test_lines_written_before_start_are_written_by_close(log_path: Path) -> None:
    writer = LogWriter(log_path)
    writer.write(line("early", 0))
    writer.close()
    assert read_ids(log_path) == [("early", 0)]


# --------------------------------------------------------------------------- never blocking


def test_write_from_the_event_loop_never_waits_on_a_stalled_disk(log_path: Path) -> None:
    disk = GatedDisk(open_=False)
    writer = LogWriter(log_path, write_fn=disk)
    writer.start()

    async def main() -> tuple[float, int]:
        ticks = 0

        async def heartbeat() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        beat = asyncio.create_task(heartbeat())
        slowest = 0.0
        for n in range(2000):
            began = time.perf_counter()
            writer.write(line("loop", n))
            slowest = max(slowest, time.perf_counter() - began)
            await asyncio.sleep(0)
        beat.cancel()
        return slowest, ticks

    slowest, ticks = asyncio.run(main())
    assert writer.lines_written == 0  # the disk really was stalled all along
    assert slowest < 0.05 and ticks >= 1000
    disk.gate.set()
    writer.close()
    assert writer.lines_written == 2000


def test_a_full_queue_fails_the_line_after_a_bounded_wait(
    log_path: Path, errors: list[Exception]
) -> None:
    disk = GatedDisk(open_=False)
    writer = LogWriter(
        log_path, write_fn=disk, max_queued=2, put_timeout=0.05, on_error=errors.append
    )
    writer.start()
    writer.write(line("q", 0))  # taken by the thread, which then stalls on the disk
    assert disk.entered.wait(TIMEOUT)
    writer.write(line("q", 1))
    writer.write(line("q", 2))
    began = time.monotonic()
    writer.write(line("q", 3))  # no room: waits put_timeout, then gives up
    waited = time.monotonic() - began
    assert 0.04 <= waited < 1.0
    assert writer.lines_failed == 1 and "full" in str(errors[0])
    disk.gate.set()
    writer.close()
    assert read_ids(log_path) == [("q", 0), ("q", 1), ("q", 2)]


# --------------------------------------------------------------------------- disk errors


class FailingDisk:
    """Fails the first `failures` writes with ENOSPC, then writes normally."""

    def __init__(self, failures: int) -> None:
        self.failures = failures

    def __call__(self, fd: int, data: bytes) -> int:
        if self.failures:
            self.failures -= 1
            raise OSError(errno.ENOSPC, "No space left on device")
        return os.write(fd, data)


def test_a_write_error_is_reported_and_counted_and_the_thread_keeps_going(
    log_path: Path, errors: list[Exception]
) -> None:
    with LogWriter(log_path, write_fn=FailingDisk(1), on_error=errors.append) as writer:
        writer.write(line("lost", 0))
        wait_until(lambda: writer.lines_failed == 1)
        writer.write(line("kept", 0))
    assert isinstance(errors[0], OSError) and errors[0].errno == errno.ENOSPC
    assert (writer.lines_written, writer.lines_failed) == (1, 1)
    assert read_ids(log_path) == [("kept", 0)]


def test_short_writes_still_produce_whole_lines(log_path: Path) -> None:
    def dribble(fd: int, data: bytes) -> int:
        return os.write(fd, data[:7])  # the kernel may write less than asked

    with LogWriter(log_path, write_fn=dribble) as writer:
        for n in range(50):
            writer.write(line("d", n, pad=n))
    assert read_ids(log_path) == [("d", n) for n in range(50)]


class DiskFullMidLine:
    """Writes the first `room` bytes it is given, then fails with ENOSPC once (a disk that
    fills up in the middle of a line), then writes normally (space was freed)."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.failed = False

    def __call__(self, fd: int, data: bytes) -> int:
        if self.failed:
            return os.write(fd, data)
        if self.room:
            written = os.write(fd, data[: self.room])
            self.room -= written
            return written
        self.failed = True
        raise OSError(errno.ENOSPC, "No space left on device")


def test_after_a_write_cut_short_mid_line_the_next_record_starts_on_a_new_line(
    log_path: Path, errors: list[Exception]
) -> None:
    first, second = line("cut", 0), line("after", 0)
    disk = DiskFullMidLine(room=len(first) // 2)
    with LogWriter(log_path, write_fn=disk, on_error=errors.append) as writer:
        writer.write(first)
        wait_until(lambda: writer.lines_failed == 1)
        writer.write(second)
    raw = log_path.read_bytes()
    # the half line stays a (bad) line of its own; the next record is whole, on its own line
    assert raw == first[: len(first) // 2] + b"\n" + second
    assert orjson.loads(raw.splitlines()[-1])["source"] == "after"
    assert (writer.lines_written, writer.lines_failed) == (1, 1)


def test_a_write_that_fails_on_a_line_boundary_adds_no_empty_line(log_path: Path) -> None:
    first, lost, second = line("a", 0), line("lost", 0), line("b", 0)
    disk = DiskFullMidLine(room=len(first))
    with LogWriter(log_path, write_fn=disk, on_error=lambda error: None) as writer:
        writer.write(first)
        wait_until(lambda: writer.lines_written == 1)
        writer.write(lost)
        wait_until(lambda: writer.lines_failed == 1)
        writer.write(second)
    assert log_path.read_bytes() == first + second


def test_a_broken_on_error_callback_does_not_kill_the_thread(log_path: Path) -> None:
    def explode(error: Exception) -> None:
        raise RuntimeError("callback bug")

    with LogWriter(log_path, write_fn=FailingDisk(1), on_error=explode) as writer:
        writer.write(line("lost", 0))
        wait_until(lambda: writer.lines_failed == 1)
        writer.write(line("kept", 0))
    assert read_ids(log_path) == [("kept", 0)]


def test_start_fails_loudly_when_the_log_cannot_be_opened(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        LogWriter(tmp_path).start()

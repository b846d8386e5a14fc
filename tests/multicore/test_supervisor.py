"""N worker processes behind shared listeners: real processes, real sockets.

Each test runs ``python -m trio_circuits serve tests.multicore.apps:FACTORY`` and
talks to it over loopback; the supervisor's stderr says where it listens and which
worker is ready.  Every wait is bounded (``trio.fail_after``).
"""

from __future__ import annotations

import os
import re
import signal
from collections import Counter
from pathlib import Path

import pytest
import trio

from .harness import (
    HOST,
    alive,
    descendants,
    exchange,
    gone,
    one_stream_per_worker,
    receive_line,
    supervised,
)

ECHO = "tests.multicore.apps:echo"


async def test_four_workers_share_one_port_for_a_thousand_connections() -> None:
    async with supervised(ECHO, "--workers", "4") as supervisor:
        await supervisor.line("4 workers ready")
        port = supervisor.port
        served: Counter[int] = Counter()
        all_open = trio.Event()
        opened = 0

        async def client(i: int) -> None:
            nonlocal opened
            with trio.fail_after(60):
                stream = await trio.open_tcp_stream(HOST, port)
                async with stream:
                    index = int((await receive_line(stream)).split()[1])
                    opened += 1
                    if opened == 1000:
                        all_open.set()
                    await all_open.wait()  # a thousand connections open at once
                    payload = b"%d\n" % i
                    await stream.send_all(payload)
                    echoed = b""
                    while len(echoed) < len(payload):
                        echoed += await stream.receive_some(100)
                    assert echoed == payload
                    served[index] += 1

        async with trio.open_nursery() as nursery:
            for i in range(1000):
                nursery.start_soon(client, i)
        assert sum(served.values()) == 1000
        assert len(served) > 1, served  # spread over more than one worker
        assert set(served) <= {0, 1, 2, 3}
        assert await supervisor.stop() == 0


@pytest.mark.parametrize("listen", [("--shared-listener",), ()], ids=["shared", "reuse-port"])
async def test_a_killed_worker_loses_no_new_connection_and_is_replaced(
    listen: tuple[str, ...],
) -> None:
    # With SO_REUSEPORT (the default), the connections the kernel hashes to the dead worker's
    # listener wait there (the supervisor keeps it open) for the replacement.
    async with supervised(ECHO, "--workers", "2", *listen) as supervisor:
        await supervisor.line("2 workers ready")
        port, victim = supervisor.port, supervisor.ready_pids()[1]
        dead_at = trio.current_time() + 3600.0
        lost: list[BaseException] = []
        served: list[tuple[int, int]] = []
        done = trio.Event()

        async def keep_connecting() -> None:
            for _ in range(100_000):
                if done.is_set():
                    return
                started = trio.current_time()
                try:
                    served.append(await exchange(port, b"ping\n"))
                except (OSError, trio.BrokenResourceError) as exc:
                    if started > dead_at:  # in flight on the killed worker: may fail
                        lost.append(exc)

        async with trio.open_nursery() as nursery:
            for _ in range(4):  # four clients at a time
                nursery.start_soon(keep_connecting)
            await trio.sleep(0.2)
            mark = len(supervisor.err)
            os.kill(victim, signal.SIGKILL)
            await gone({victim})
            dead_at = trio.current_time()
            replacement = await supervisor.line(r"worker 1 \(pid (\d+)\) ready", mark)
            new_pid = int(replacement.group(1))
            with trio.fail_after(20):
                while (1, new_pid) not in served:  # noqa: ASYNC110 - the client's results
                    await trio.sleep(0.02)
            done.set()
        assert lost == []
        assert new_pid != victim
        assert f"worker 1 (pid {victim}) was killed by SIGKILL: restarting" in supervisor.text
        assert await supervisor.stop() == 0


async def test_sigterm_flushes_every_echoed_byte_and_leaves_no_process() -> None:
    chunk = bytes(range(256)) * 16
    async with supervised("tests.multicore.apps:counting", "--workers", "2") as supervisor:
        await supervisor.line("2 workers ready")
        port = supervisor.port
        workers = descendants(supervisor.process.pid)
        assert len(workers) == 2
        results: dict[int, tuple[bytes, bytes]] = {}  # client port -> (sent, received)
        echoing = 0
        all_echoing = trio.Event()

        async def stream_until_closed() -> None:
            nonlocal echoing
            sent = bytearray()
            received = bytearray()
            stream = await trio.open_tcp_stream(HOST, port)
            async with stream:
                await receive_line(stream)

                async def send() -> None:
                    while True:
                        while len(sent) - len(received) > 64 * 1024:  # noqa: ASYNC110
                            await trio.sleep(0.001)
                        await stream.send_all(chunk)
                        sent.extend(chunk)

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(send)
                    while data := await stream.receive_some(65536):
                        if not received:
                            echoing += 1
                            if echoing == 200:
                                all_echoing.set()
                        received.extend(data)
                    nursery.cancel_scope.cancel()  # the server has closed: stop sending
                results[stream.socket.getsockname()[1]] = (bytes(sent), bytes(received))

        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                for _ in range(200):
                    nursery.start_soon(stream_until_closed)
                await all_echoing.wait()
                await trio.sleep(0.5)
                stopped_at = trio.current_time()
                supervisor.process.send_signal(signal.SIGTERM)
                assert await supervisor.wait() == 0
                assert trio.current_time() - stopped_at < 5
        assert len(results) == 200
        # What each worker echoed, as it told when the connection ended.
        echoed = {}
        for line in supervisor.out:
            if found := re.fullmatch(r"\[worker \d\] echoed (\d+) (\d+)", line):
                echoed[int(found.group(1))] = int(found.group(2))
        assert set(echoed) == set(results)
        for client, (sent, received) in results.items():
            assert len(received) == echoed[client]  # every echoed byte reached its client
            assert sent.startswith(received)  # in order
        assert not any(alive(pid) for pid in workers)
        assert descendants(supervisor.process.pid) == set()


async def test_a_supervisor_killed_outright_leaves_no_worker_behind() -> None:
    async with supervised(ECHO, "--workers", "2") as supervisor:
        await supervisor.line("2 workers ready")
        workers = descendants(supervisor.process.pid)
        assert len(workers) == 2
        supervisor.process.kill()
        assert await supervisor.wait() == -signal.SIGKILL
        # Each worker sees its control socket close, and stops as if told to.
        await gone(workers, seconds=10)


async def test_a_second_sigterm_does_not_wait_for_a_slow_stop() -> None:
    async with supervised("tests.multicore.apps:slow_to_stop", "--workers", "2") as supervisor:
        await supervisor.line("2 workers ready")
        workers = descendants(supervisor.process.pid)
        stream = await trio.open_tcp_stream(HOST, supervisor.port)
        async with stream:
            await receive_line(stream)
            with trio.move_on_after(1):  # never read: the echo backs up in the worker
                for _ in range(4096):
                    await stream.send_all(b"x" * 65536)
            supervisor.process.send_signal(signal.SIGTERM)
            await supervisor.line("SIGTERM: stopping the workers")
            with trio.move_on_after(1):
                await supervisor.wait()
            assert supervisor.process.returncode is None  # flushing, for up to 20 s
            stopped_at = trio.current_time()
            assert await supervisor.stop(signal.SIGTERM) == 0
            assert trio.current_time() - stopped_at < 5
        assert "killing the workers" in supervisor.text
        assert not any(alive(pid) for pid in workers)


async def test_sighup_replaces_every_worker_without_refusing_a_connection() -> None:
    async with supervised(ECHO, "--workers", "4") as supervisor:
        await supervisor.line("4 workers ready")
        port, old = supervisor.port, supervisor.ready_pids()
        refused: list[OSError] = []
        cut: list[int | None] = []  # who served a connection closed before its echo
        served: Counter[int] = Counter()
        done = trio.Event()

        async def attempt() -> None:
            with trio.fail_after(20):
                try:
                    stream = await trio.open_tcp_stream(HOST, port)
                except OSError as exc:
                    refused.append(exc)
                    return
                pid = None
                async with stream:
                    try:
                        pid = int((await receive_line(stream)).split()[2])
                        await stream.send_all(b"ping\n")
                        assert await receive_line(stream) == b"ping"
                        served[pid] += 1
                    except (ConnectionError, trio.BrokenResourceError):
                        cut.append(pid)

        async def keep_connecting() -> None:
            for _ in range(100_000):
                if done.is_set():
                    return
                await attempt()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(keep_connecting)
            await trio.sleep(0.2)
            mark = len(supervisor.err)
            supervisor.process.send_signal(signal.SIGHUP)
            with trio.fail_after(40):
                while len(new := supervisor.ready_pids(mark)) < 4:  # noqa: ASYNC110
                    await trio.sleep(0.05)
            await gone(set(old.values()), seconds=20)
            await trio.sleep(0.2)
            done.set()
        assert refused == []
        # A connection an old worker had just accepted when it was told to stop may be
        # closed by its graceful stop (one at most per old worker: one client in flight).
        assert len(cut) <= 4
        assert all(pid is None or pid in old.values() for pid in cut), (cut, old)
        assert not set(new.values()) & set(old.values())
        assert set(served) & set(new.values())  # the new workers served the client too
        assert sum(served.values()) > 20
        assert await supervisor.stop() == 0


async def test_a_reload_whose_new_workers_fail_keeps_the_running_ones(tmp_path: Path) -> None:
    flag = tmp_path / "broken"
    env = {"TEST_FLAG": str(flag)}
    async with supervised(
        "tests.multicore.apps:broken_when_flagged", "--workers", "2", env=env
    ) as sup:
        await sup.line("2 workers ready")
        running = sup.ready_pids()
        flag.touch()
        mark = len(sup.err)
        sup.process.send_signal(signal.SIGHUP)
        await sup.line("reload stopped, the running workers stay", mark)
        assert "RuntimeError: the new code is broken" in sup.text
        served = {}
        for index, (stream, greeting) in (await one_stream_per_worker(sup.port, 2)).items():
            served[index] = int(greeting.split()[2])
            await stream.aclose()
        assert served == running  # the workers that ran before, still serving
        assert await sup.stop() == 0


async def test_a_factory_failing_in_every_worker_stops_with_its_error_once() -> None:
    async with supervised("tests.multicore.apps:failing", "--workers", "4") as supervisor:
        assert await supervisor.wait(30) == 1
        text = supervisor.text
        assert text.count("RuntimeError: no database here") == 1, text
        assert re.search(r"^\[worker \d\] RuntimeError: no database here$", text, re.M)
        assert "could not start" in text
        assert "restarting" not in text


async def test_a_crash_loop_stops_after_a_bounded_number_of_restarts() -> None:
    from trio_circuits.multicore import MAX_FAILURES

    async with supervised("tests.multicore.apps:crashing", "--workers", "2") as supervisor:
        assert await supervisor.wait(40) == 1
        text = supervisor.text
        assert text.count("worker 1 (pid") >= MAX_FAILURES
        assert text.count(": restarting it in") == MAX_FAILURES - 1
        assert f"died {MAX_FAILURES} times in a row" in text
        assert "restarting it in 0.1 s" in text
        assert "restarting it in 0.2 s" in text  # backing off


async def test_workers_exiting_0_are_not_restarted() -> None:
    async with supervised("tests.multicore.apps:finishing", "--workers", "2") as supervisor:
        assert await supervisor.wait(20) == 0
        text = supervisor.text
        assert text.count("exited with status 0: not restarted") == 2
        assert len(supervisor.ready_pids()) == 2
        assert text.count(") ready") == 2

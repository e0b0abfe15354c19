"""The background-task supervisor: restarts a crashed loop, stops a stubborn one."""

import asyncio

from auth.app import supervised


async def test_a_crashed_loop_restarts_and_a_swallowed_cancel_still_stops_it():
    runs: list[int] = []

    async def flaky() -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("boom")
        swallowed = False
        while True:
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                if not swallowed:  # what asyncio.wait_for can do on 3.11
                    swallowed = True
                    continue
                raise

    task = asyncio.create_task(supervised("flaky", flaky))
    loop = asyncio.get_running_loop()
    end = loop.time() + 5
    while len(runs) < 2:
        assert loop.time() < end, "never restarted"
        await asyncio.sleep(0.02)
    task.cancel()
    await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), 5)
    assert task.cancelled()

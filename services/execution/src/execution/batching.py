"""How decisions are grouped into commits: bar commits while Postgres is busy, tick chunks.

Every commit costs Postgres a fixed part for the call beside its part per decision, on the
cores it shares with the engine: at a busy minute close, or when a market-wide move brings a
tick of every instrument at once, a commit each made the last decisions wait behind the
calls of all the others.
"""

from __future__ import annotations

import asyncio

from .runner import Decision, Runner

TICK_COMMIT_DECISIONS = 32
"""Stops and targets hit by the ticks of one read go to Postgres in commits of about this
many decisions (`Engine.commit_ticked`)."""


def chunked(decided: list[tuple[Runner, Decision]], size: int) -> list[list]:
    """Split decisions into runs of about `size`, never splitting one deployment's."""
    chunks: list[list] = [[]]
    for item in decided:
        if len(chunks[-1]) >= size and item[0] is not chunks[-1][-1][0]:
            chunks.append([])
        chunks[-1].append(item)
    return chunks


class GroupCommit:
    """Bar decisions of several instruments in one commit while Postgres is busy.

    At a minute close twenty to forty instruments decide something, one after the other
    (`ledger.Turns`). A commit each cost Postgres about 0.25 ms for the call beside 0.13 per
    decision, on two cores it shares with the engine: in the busiest minutes the last intents
    waited for the commits ahead of them. At most `in_flight` commits run at once; the
    instruments decided meanwhile go together in the next one, which starts as soon as one
    returns, so a quiet moment still commits an instrument at once. 0: a commit each.
    """

    def __init__(self, commit, in_flight: int) -> None:
        self._commit = commit
        self.in_flight = in_flight
        self._running = 0
        self._decided: list = []
        self._advances: list = []
        self._done: asyncio.Future | None = None
        self._tasks: set[asyncio.Task] = set()  # the loop holds tasks weakly: keep them here

    async def submit(self, decided: list, advances: list) -> None:
        """Commit (with others, when Postgres is busy); return once it is committed."""
        if self.in_flight <= 0:
            await self._commit(decided, advances)
            return
        self._decided += decided
        self._advances += advances
        if self._done is None:
            self._done = asyncio.get_running_loop().create_future()
        done = self._done
        self._start()
        await asyncio.shield(done)

    def _start(self) -> None:
        while self._running < self.in_flight and self._done is not None:
            decided, advances, done = self._decided, self._advances, self._done
            self._decided, self._advances, self._done = [], [], None
            self._running += 1
            task = asyncio.get_running_loop().create_task(self._run(decided, advances, done))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, decided: list, advances: list, done: asyncio.Future) -> None:
        try:
            await self._commit(decided, advances)
        except Exception as exc:  # every caller of this commit gets it
            done.set_exception(exc)
        except BaseException:  # cancelled (shutdown): nobody may take it as committed
            done.cancel()
            raise
        else:
            done.set_result(None)
        finally:
            self._running -= 1
            self._start()

"""Flows started from the page run as background jobs the page polls for progress.

A job holds only what the page shows: the stage, a done/total count, the flow's JSON result
or the error message in plain words. No history bytes, codes or keys are kept here.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

MAX_JOBS = 200  # finished jobs are forgotten oldest first past this


@dataclass
class Job:
    id: str
    token_id: str
    kind: str
    state: str = "running"  # "running" | "done" | "failed"
    stage: str = "starting"
    done: int = 0
    total: int = 0
    result: dict | None = None
    error: str | None = None
    started: float = field(default_factory=time.monotonic)

    def progress(self, stage: str, done: int, total: int) -> None:
        self.stage, self.done, self.total = stage, int(done), int(total)

    def to_json(self) -> dict:
        return {"id": self.id, "token": self.token_id, "kind": self.kind, "state": self.state,
                "stage": self.stage, "done": self.done, "total": self.total,
                "result": self.result, "error": self.error}


class Jobs:
    """The running and recent jobs of this kiosk."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._tasks: set[asyncio.Task] = set()

    def start(self, token_id: str, kind: str,
              work: Callable[[Job], Awaitable[dict]],
              describe_error: Callable[[BaseException], str]) -> Job:
        job = Job(secrets.token_hex(6), token_id, kind)
        self._jobs[job.id] = job
        self._forget_old()
        task = asyncio.get_running_loop().create_task(self._run(job, work, describe_error))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    async def _run(self, job: Job, work, describe_error) -> None:
        try:
            job.result = await work(job)
            job.state = "done"
            job.stage = "done"
        except Exception as exc:  # every failure becomes a message on the page
            job.error = describe_error(exc)
            job.state = "failed"

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.state != "running"]
        for job in sorted(finished, key=lambda j: j.started)[: max(0, len(self._jobs) - MAX_JOBS)]:
            del self._jobs[job.id]

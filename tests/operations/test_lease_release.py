"""At shutdown a process hands back the jobs and texts it claimed, so another process takes them at
once instead of after the lease (the SIGTERM test covers texts through a real server)."""

from __future__ import annotations

from datetime import timedelta

from gualema.background import release_claims
from models.jobs import Job, claim, enqueue


async def test_claimed_jobs_are_claimable_again_after_release() -> None:
    await enqueue("test.slow", {"n": 1})
    [held] = await claim(["test.slow"], lease=timedelta(minutes=10))
    assert await claim(["test.slow"], lease=timedelta(minutes=10)) == []  # leased: nobody else gets it

    await release_claims()

    [again] = await claim(["test.slow"], lease=timedelta(minutes=10))
    assert again.id == held.id
    assert (await Job.get(id=held.id)).attempts == 2  # the interrupted attempt still counts

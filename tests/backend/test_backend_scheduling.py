"""Coalescing: at most one queued-or-running round per project, one follow-up at most."""
import pytest
from rq import Queue
from rq.job import Job, JobStatus

from backend.project_state import ProjectState
from backend.scheduling import finish_round, request_round, take_intent

pytestmark = pytest.mark.unit


@pytest.fixture()
def queue(conn):
    return Queue("atgen-test", connection=conn)


def test_requests_while_queued_join_the_queued_round(conn, queue):
    state = ProjectState(conn, 1)
    first, new = request_round(state, queue, train=False, reason="setup")
    assert new
    for _ in range(50):
        job_id, new = request_round(state, queue, train=True, reason="annotations")
        assert (job_id, new) == (first, False)
    assert queue.count == 1
    intent = take_intent(state)
    assert intent.train is True and intent.reasons == ("annotations", "setup")


def test_requests_while_running_give_exactly_one_follow_up(conn, queue):
    state = ProjectState(conn, 1)
    job_id, _ = request_round(state, queue, train=True, reason="a")
    job = Job.fetch(job_id, connection=conn)
    queue.remove(job)
    job.set_status(JobStatus.STARTED)  # what a worker does when it picks the job up
    take_intent(state)
    for _ in range(500):
        assert request_round(state, queue, train=True, reason="storm")[1] is False
    assert queue.count == 0
    follow_up = finish_round(state, queue)
    assert follow_up is not None and queue.count == 1
    assert take_intent(state).train is True


def test_no_follow_up_when_nothing_arrived_during_the_round(conn, queue):
    state = ProjectState(conn, 1)
    request_round(state, queue, train=False, reason="setup")
    take_intent(state)
    assert finish_round(state, queue) is None


def test_a_failed_round_does_not_block_the_next_request(conn, queue):
    state = ProjectState(conn, 1)
    job_id, _ = request_round(state, queue, train=True, reason="a")
    job = Job.fetch(job_id, connection=conn)
    queue.remove(job)
    job.set_status(JobStatus.FAILED)  # e.g. a worker crashed without running finish_round
    new_id, new = request_round(state, queue, train=True, reason="b")
    assert new and new_id != job_id


def test_projects_are_scheduled_independently(conn, queue):
    assert request_round(ProjectState(conn, 1), queue, train=True, reason="x")[1]
    assert request_round(ProjectState(conn, 2), queue, train=True, reason="x")[1]
    assert queue.count == 2

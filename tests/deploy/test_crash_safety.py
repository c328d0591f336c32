"""Nothing a citizen sent is lost when the server dies mid-request.

100 report submissions (multipart, a real photo each, each with its own Idempotency-Key) are sent
at once to gunicorn; once some have been answered the whole server (master and every worker) is
killed with SIGKILL; it is started again and every request that got no answer is sent again,
unchanged. Then: every report exists exactly once and matches the answer its client got, no
timeline misses an event, and no photo file is left without its case_photos row once
`flask --app wsgi media cleanup` has run. Once with the database claims, once with Redis.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from media import content_hash_of
from reports_app.demo.loader import DEMO_PASSWORD
from tests.deploy.processes import Reply, Server, multipart, pause, wait_for
from workflows import machine

pytestmark = pytest.mark.postgres_only

REQUESTS = 100
KILL_AFTER = 30
"""Answers received before the server is killed: the rest are in flight or still queued."""
BMT = ("12.65955", "108.03247")
RETRY_AFTER_MAX = 5
"""A 409 request_in_progress asks for the idempotency wait (2 s here), never a rate window."""
CATEGORIES = ("other", "urban-order")
"""`other` waits for triage; `urban-order` is routed to the ward at once."""


@dataclass
class Submission:
    """One citizen's report and what became of it."""

    index: int
    key: str
    body: bytes
    content_type: str
    first: Reply | None = None
    error: str | None = None
    retried: Reply | None = None

    @property
    def description(self) -> str:
        return f"Crash test report {self.index}: ổ gà trước số nhà {self.index}"

    @property
    def answer(self) -> Reply | None:
        return self.retried or self.first


def _submissions(photos: list[Path]) -> list[Submission]:
    made = []
    for index in range(REQUESTS):
        photo = photos[index % len(photos)]
        draft = Submission(index, f"crash-{uuid.uuid4()}", b"", "")
        draft.body, draft.content_type = multipart(
            {"category": CATEGORIES[index % 2], "lat": BMT[0], "lon": BMT[1],
             "description": draft.description}, [(photo.read_bytes(), photo.name)])
        made.append(draft)
    return made


def _post(server: Server, token: str, item: Submission) -> Reply:
    return server.post("/api/v1/reports", body=item.body, content_type=item.content_type,
                       token=token, headers={"Idempotency-Key": item.key}, timeout=90)


def _send_all_and_kill(server: Server, token: str, items: list[Submission],
                       running: Callable[[], int]) -> None:
    """Send every submission at once; SIGKILL the server after KILL_AFTER answers, at a moment
    when `running()` says some request holds its claim (it is past the start, not yet done)."""
    answered = threading.Condition()
    count = [0]

    def send(item: Submission) -> None:
        try:
            item.first = _post(server, token, item)
        except OSError as exc:  # reset, refused, closed: the server died under it
            item.error = type(exc).__name__
        finally:
            with answered:
                count[0] += 1
                answered.notify_all()

    threads = [threading.Thread(target=send, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    with answered:
        assert answered.wait_for(lambda: count[0] >= KILL_AFTER, timeout=90), server.process.log()
    wait_for(lambda: running() > 0 or count[0] >= len(items), 90, "a request in progress",
             server.process.log)
    server.process.kill()
    for thread in threads:
        thread.join(timeout=90)


def _retry(server: Server, token: str, item: Submission) -> None:
    """Send the same request again until it is answered, honouring 409 Retry-After."""
    def answered() -> bool:
        reply = _post(server, token, item)
        if reply.status == 409 and reply.json()["error"] == "request_in_progress":
            wait = int(reply.headers["retry-after"])
            assert wait in range(1, RETRY_AFTER_MAX + 1), \
                f"Retry-After {wait} s for a request in progress"
            pause(wait)
            return False
        item.retried = reply
        return True

    wait_for(answered, 90, f"an answer to {item.key}", server.process.log)


def _timeline_errors(deployment) -> list[str]:
    """Cases whose events do not start with submit or do not chain up to the case's state."""
    events: dict[int, list[Any]] = defaultdict(list)
    for row in deployment.rows("SELECT case_id, action, from_state, to_state FROM case_events "
                               "ORDER BY case_id, id"):
        events[row.case_id].append(row)
    errors = []
    for case in deployment.rows("SELECT id, state FROM cases"):
        mine = events.get(case.id, [])
        if not mine or mine[0].action != "submit" or mine[0].from_state is not None:
            errors.append(f"case {case.id}: timeline does not start with submit: {mine}")
            continue
        state = None
        for event in mine:
            transition = machine.transition_for(event.action)
            if event.from_state != state or (state is not None
                                             and state not in transition.from_states):
                errors.append(f"case {case.id}: {event.action} from {event.from_state}, "
                              f"but the case was {state}")
            state = event.to_state
        if state != case.state:
            errors.append(f"case {case.id}: timeline ends in {state}, the case is {case.state}")
    return errors


def _photo_files(media_root: Path) -> tuple[set[str], list[Path]]:
    """The photo keys on disk, and any other file (unfinished writes)."""
    keys, others = set(), []
    for path in media_root.rglob("*"):
        if not path.is_file():
            continue
        parts = path.relative_to(media_root).parts
        key = f"{parts[0]}/{parts[-1]}"
        if len(parts) == 4 and content_hash_of(key):
            keys.add(key)
        else:
            others.append(path)
    return keys, others


def _referenced(deployment) -> set[str]:
    keys = set()
    for row in deployment.rows("SELECT original_key, display_key, thumb_key FROM case_photos"):
        keys.update(row)
    return keys


@pytest.mark.parametrize("claims", ["database", "redis"])
def test_killed_server_loses_no_report_and_makes_no_duplicate(deployment, request, shared_dir,
                                                              claims):
    """SIGKILL mid-burst, restart, retry what got no answer: one report per key, no orphan."""
    settings = {"REPORT_RATE_LIMIT": "1000/hour", "REPORT_ADDRESS_RATE_LIMIT": "1000/hour",
                # A claim older than this counts as abandoned (the worker died): retries after
                # the restart take it over instead of waiting the production minute.
                "IDEMPOTENCY_LOCK_SECONDS": "5", "IDEMPOTENCY_WAIT_SECONDS": "2"}
    found = None
    if claims == "redis":
        found = request.getfixturevalue("redis_for_test")
        settings.update(REDIS_URL=found.url, REDIS_KEY_PREFIX=found.prefix)
    deployment.settings.update(settings)
    photos = sorted((shared_dir / "photos" / "orientation").glob("*.jpg")) + sorted(
        (shared_dir / "photos" / "gps").glob("*.jpg"))
    items = _submissions(photos)


    def running() -> int:
        """Requests holding their claim: a Redis lock, or a claim row without a response."""
        if found is not None:
            return sum(key.endswith(":lock") for key in found.written())
        return deployment.scalar(
            "SELECT count(*) FROM idempotency_keys WHERE response_status IS NULL")

    port = deployment.ports.take()
    first = deployment.server("before-kill", port=port).wait_ready()
    token = first.login("citizen@demo.test", DEMO_PASSWORD)
    _send_all_and_kill(first, token, items, running)
    assert all(i.first.status == 201 for i in items if i.first), [
        i.first.body for i in items if i.first and i.first.status != 201]
    unanswered = [i for i in items if i.first is None]
    assert unanswered, "the kill came after every answer: nothing was tested"
    committed_unanswered = deployment.scalar(
        "SELECT count(*) FROM idempotency_keys WHERE response_status IS NOT NULL "
        "AND key = ANY(:keys)", keys=[i.key for i in unanswered])
    # What the kill interrupted: claims held by requests that were running, files they wrote.
    in_flight = running()
    on_disk, unfinished = _photo_files(deployment.media_root)
    left_by_kill = len(on_disk - _referenced(deployment)) + len(unfinished)

    again = deployment.server("after-restart", port=port).wait_ready()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda item: _retry(again, token, item), unanswered))

    # Every report exactly once, and each answer names its own case.
    cases = {row.description: row for row in deployment.rows(
        "SELECT id, tracking_code, description FROM cases")}
    per_description = Counter(row.description for row in deployment.rows(
        "SELECT description FROM cases"))
    duplicates = sum(n - 1 for n in per_description.values())
    assert duplicates == 0, per_description.most_common(3)
    assert len(cases) == REQUESTS
    for item in items:
        reply = item.answer
        assert reply is not None, item.key
        assert reply.status == 201, (item.key, reply.body)
        case = cases[item.description]
        assert (reply.json()["id"], reply.json()["tracking_code"]) == (case.id, case.tracking_code)
    keys = deployment.rows("SELECT key, case_id, response_status FROM idempotency_keys")
    assert sorted(row.key for row in keys) == sorted(item.key for item in items)
    by_key = {row.key: row for row in keys}
    assert all(by_key[i.key].case_id == cases[i.description].id for i in items)
    assert {row.response_status for row in keys} == {201}
    replayed = sum(i.retried.headers.get("idempotent-replayed") == "true" for i in unanswered)
    assert replayed == committed_unanswered

    # No timeline is missing an event.
    assert _timeline_errors(deployment) == []
    assert deployment.scalar("SELECT count(*) FROM case_photos") == REQUESTS

    # Photos: every referenced file is there; what the killed requests left is swept.
    on_disk, unfinished = _photo_files(deployment.media_root)
    referenced = _referenced(deployment)
    assert referenced <= on_disk, sorted(referenced - on_disk)
    orphans_before = len(on_disk - referenced) + len(unfinished)
    output = deployment.flask("media", "cleanup", "--grace-minutes", "0")
    on_disk, unfinished = _photo_files(deployment.media_root)
    assert on_disk == referenced, output
    assert unfinished == [], output

    figures = {"claims": claims, "requests": REQUESTS, "answered_before_kill": REQUESTS - len(
        unanswered), "killed_without_answer": len(unanswered), "running_when_killed": in_flight,
        "files_left_by_kill": left_by_kill,
        "recovered_by_retry": sum(i.retried is not None and i.retried.status == 201
                                  for i in unanswered),
        "of_which_replayed": replayed, "duplicates": duplicates,
        "orphans_after_retries": orphans_before, "cleanup": next(
            line for line in output.splitlines() if line.startswith("media cleanup"))}
    request.node.user_properties.append(("crash_figures", figures))
    print(f"\ncrash figures: {figures}")

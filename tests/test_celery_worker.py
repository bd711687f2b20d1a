"""A real Celery worker, started as a process against the local Redis and the test database: tasks
sent through the broker change PostgreSQL, and a message written while the broker is down is sent
once the broker is back, exactly once.

Needs PostgreSQL (the worker must share the test database) and Redis on 127.0.0.1:6379; skipped,
with the reason printed, without either. The worker consumes a queue of its own on Redis db 5.
"""
import logging
import os
import re
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.db import connection, transaction
from kombu import pools as kombu_pools

from config.celery import app
from customers.models import Interaction
from customers.selectors import recipient_for
from inventory import services as stock
from inventory.models import Reservation, StockLevel, StockMovement
from inventory.services import StockLine
from inventory.tasks import release_expired_reservations
from notifications.models import OutboxMessage
from notifications.services import message_queue
from notifications.tasks import deliver_message, deliver_pending_messages
from tests.test_jobs import goods, shopper, web  # noqa: F401  (goods is a fixture)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 5
BROKER = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
BROKER_DOWN = "redis://127.0.0.1:1/0"  # nothing listens there
PROJECT = Path(__file__).resolve().parent.parent
WAIT = 30  # seconds, for the worker to start and for each effect to show


def _redis_reason() -> str | None:
    try:
        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        return f"needs Redis on {REDIS_HOST}:{REDIS_PORT} for a real Celery worker ({exc})"
    return None


def _database_url() -> str:
    """The test database this test is using, as the worker's DATABASE_URL."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (f"postgres://{db.get('USER') or 'postgres'}{password}@{db.get('HOST') or '127.0.0.1'}:"
            f"{db.get('PORT') or 5432}/{db['NAME']}")


class Worker:
    """A `celery worker` process on one queue; its log (stdout and stderr) is kept in a file."""

    def __init__(self, queue: str, log: Path, conn_max_age: str = "0") -> None:
        self.queue, self.log = queue, log
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": "celery-worker-test-secret",
            "DATABASE_URL": _database_url(),
            "CONN_MAX_AGE": conn_max_age,
            "CELERY_BROKER_URL": BROKER,
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
            "PYTHONUNBUFFERED": "1",
        }
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--concurrency=1",
                 "-Q", queue, "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "info",
                 "-n", f"{queue}@%h"],
                cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if re.search(r"@\S+ ready\.", self.output()):
                return
            if self.process.poll() is not None:
                pytest.fail(f"the worker exited with {self.process.returncode}:\n{self.output()}")
            time.sleep(0.2)
        pytest.fail(f"the worker was not ready within {WAIT}s:\n{self.output()}")

    def result_of(self, task_id: str) -> str:
        """What the worker logged as the task's return value, once it has run it."""
        pattern = re.compile(rf"\[{re.escape(task_id)}\] succeeded in [0-9.e-]+s: (.*)")
        found = wait_for(lambda: pattern.search(self.output()), f"task {task_id} to succeed in the worker")
        return found.group(1).strip()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def wait_for(check, what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def queue():
    reason = _redis_reason()
    if reason:
        pytest.skip(reason)
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the worker process must share the test database")
    name = f"jobs-test-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
    for key in client.scan_iter(match=f"*{name}*"):
        client.delete(key)


@pytest.fixture
def worker(request, queue, tmp_path, transactional_db):
    running = Worker(queue, tmp_path / "worker.log", conn_max_age=getattr(request, "param", "0"))
    try:
        running.wait_until_ready()
        yield running
    finally:
        running.stop()


def _fresh_connections() -> None:
    """Forget the app's broker connections and routing, so the next task uses the current settings."""
    kombu_pools.reset()  # closes every pooled connection and forgets the pools, keyed by broker URL
    app._pool = None
    app.__dict__.pop("amqp", None)


@contextmanager
def tasks_through(broker_url: str, queue: str, settings):
    """Send this process's tasks through a broker (not eagerly) to the worker's queue, failing fast
    when the broker cannot be reached; the app is put back as it was afterwards."""
    changes = {
        "broker_url": broker_url, "task_always_eager": False, "task_default_queue": queue,
        "task_publish_retry": False, "broker_connection_retry": False, "broker_connection_max_retries": 0,
        "broker_connection_timeout": 2, "broker_transport_options": {"socket_connect_timeout": 2},
    }
    saved = {key: app.conf.get(key) for key in changes}
    settings.CELERY_BROKER_URL, settings.CELERY_TASK_ALWAYS_EAGER = broker_url, False
    app.conf.update(changes)
    _fresh_connections()
    try:
        yield
    finally:
        app.conf.update(saved)
        _fresh_connections()


def test_a_real_worker_releases_an_expired_hold_and_sends_a_message(goods, store, worker, settings):
    tee, _ = goods
    hold = stock.stock_reserve(lines=[StockLine(store, tee, 3)], channel=web(), hold_for=timedelta(milliseconds=1))
    ada = shopper()
    time.sleep(0.01)
    assert StockLevel.objects.get(location=store, variant=tee).reserved == 3

    with tasks_through(BROKER, worker.queue, settings):
        released = release_expired_reservations.delay()
        with transaction.atomic():  # handed to the broker when this commits
            [message] = message_queue(
                template="pickup_reminder", to=recipient_for(ada), reference="order:WORKER1",
                context={"order": {"number": "WORKER1"}, "store": {"name": "Oxford Street"},
                         "fulfillment": {"pickup_code": "WKRMARK1"}})
        assert worker.result_of(released.id) == "1"
        wait_for(lambda: OutboxMessage.objects.get(pk=message.pk).status == OutboxMessage.Status.SENT,
                 "the worker to send the message")
        again = deliver_message.delay(message.pk)  # asked to send it a second time
        assert worker.result_of(again.id) == "'sent'"

    assert Reservation.objects.get(pk=hold.pk).status == Reservation.Status.EXPIRED
    assert StockLevel.objects.get(location=store, variant=tee).reserved == 0
    assert StockMovement.objects.filter(reason=StockMovement.Reason.RESERVATION_RELEASE,
                                        reference=f"reservation:{hold.pk}").count() == 1
    sent = OutboxMessage.objects.get(pk=message.pk)
    assert (sent.status, sent.attempts) == (OutboxMessage.Status.SENT, 1)
    assert ada.interactions.filter(kind=Interaction.Kind.MESSAGE_SENT).count() == 1
    assert worker.output().count("Subject: Reminder: collect order WORKER1") == 1  # the console backend printed it once
    assert "WKRMARK1" in worker.output()


def test_a_message_written_while_the_broker_is_down_is_sent_once_it_is_back(worker, settings, caplog):
    ada = shopper()

    with tasks_through(BROKER_DOWN, worker.queue, settings), caplog.at_level(logging.WARNING, "notifications.services"):
        started = time.monotonic()
        with transaction.atomic():
            [message] = message_queue(
                template="pickup_reminder", to=recipient_for(ada), reference="order:OUTAGE1",
                context={"order": {"number": "OUTAGE1"}, "store": {"name": "Oxford Street"},
                         "fulfillment": {"pickup_code": "OUTMARK1"}})
        handed_off_in = time.monotonic() - started

    assert handed_off_in < 10, "the failed hand-off to the broker should fail fast, not hang the request"
    assert f"broker unavailable; message {message.pk} waits for the outbox sweep" in caplog.text
    waiting = OutboxMessage.objects.get(pk=message.pk)
    assert (waiting.status, waiting.attempts) == (OutboxMessage.Status.PENDING, 0)

    with tasks_through(BROKER, worker.queue, settings):
        sweep = deliver_pending_messages.delay()
        assert worker.result_of(sweep.id) == "1"
        second_sweep = deliver_pending_messages.delay()
        assert worker.result_of(second_sweep.id) == "0"

    sent = OutboxMessage.objects.get(pk=message.pk)
    assert (sent.status, sent.attempts, sent.last_error) == (OutboxMessage.Status.SENT, 1, "")
    assert ada.interactions.filter(kind=Interaction.Kind.MESSAGE_SENT).count() == 1
    assert worker.output().count("Subject: Reminder: collect order OUTAGE1") == 1  # one email, printed once
    assert "OUTMARK1" in worker.output()
    assert app.conf.task_always_eager and not app.conf.broker_url  # the app is put back as it was


def _other_backends() -> set[int]:
    """PostgreSQL backends on the test database other than this test's own."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return {pid for (pid,) in cursor.fetchall()}


@pytest.mark.parametrize("worker", ["600"], indirect=True)  # CONN_MAX_AGE, as in production
def test_a_worker_keeps_its_database_connection_from_one_task_to_the_next(worker, settings):
    before, seen = _other_backends(), []  # other tests' connections may linger on the database
    with tasks_through(BROKER, worker.queue, settings):
        for _ in range(3):
            done = release_expired_reservations.delay()
            assert worker.result_of(done.id) == "0"
            seen.append(_other_backends() - before)

    assert len(seen[0]) == 1, seen  # the worker's one connection, still open after its task
    assert seen[0] == seen[1] == seen[2]  # the same backend served all three tasks

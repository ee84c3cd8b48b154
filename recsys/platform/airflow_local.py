"""Airflow's components as processes on this machine, driven through Airflow's REST API.

``recsys demo``, ``recsys airflow`` (``make airflow``, ``make airflow-celery``) and the Celery
test start Airflow through :class:`LocalAirflow`: the API server (which also serves the
execution API that task processes report to), the scheduler, the DAG processor and the
triggerer, with either the LocalExecutor or the CeleryExecutor and its workers.  The
metadata database is a database of the warehouse's server (several processes share it,
which SQLite cannot do), so task states, logs and durations are what the UI shows.  With
Celery, a ``redis-server`` (the Debian package) is the broker and each worker is a named
Celery node serving its own queues.

Nothing here imports Airflow: the processes are started with its command line, and runs
are triggered and watched through its REST API, as an operator would.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from recsys.platform.airflow_env import airflow_environment
from recsys.platform.settings import Settings
from recsys.platform.warehouse import ensure_database, sqlalchemy_url, with_database

#: ``[core] hostname_callable`` of local Celery workers: the Celery node name, so that two
#: workers on one machine are told apart in the task instances (``recsys_airflow.workers``).
CELERY_HOSTNAME_CALLABLE = "recsys_airflow.workers.celery_node_name"
#: Task-instance states after which nothing more happens to a task.
FINISHED_TASK_STATES = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})
FINISHED_RUN_STATES = frozenset({"success", "failed"})


class AirflowStackError(RuntimeError):
    """A local Airflow process did not start, died, or a run did not finish in time."""


class AirflowApiError(AirflowStackError):
    """Airflow's REST API answered with an error status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class CeleryWorker:
    """One Celery worker node: its name (``<name>@<host>``), queues and worker processes."""

    name: str
    queues: tuple[str, ...]
    concurrency: int = 1


def local_workers(settings: Settings) -> tuple[CeleryWorker, ...]:
    """``settings.airflow.celery_workers`` workers on ``default`` and the scoring queue;
    the first one also serves the training queue (the big-memory worker of a cluster)."""
    cfg = settings.airflow
    if cfg.celery_workers < 1:
        raise ValueError(f"RECSYS_AIRFLOW__CELERY_WORKERS must be at least 1, got {cfg.celery_workers}")
    return tuple(
        CeleryWorker(
            f"worker{n}",
            ("default", cfg.scoring_queue, cfg.training_queue) if n == 1 else ("default", cfg.scoring_queue),
        )
        for n in range(1, cfg.celery_workers + 1)
    )


class AirflowApi:
    """The few calls of Airflow's REST API (``/api/v2``) that trigger and watch runs.

    The local stack runs the simple auth manager with every user an admin (it listens on
    the loopback interface only), so requests carry no credentials.
    """

    def __init__(self, base_url: str, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.base_url}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:
                text = response.read()
        except urllib.error.HTTPError as exc:
            raise AirflowApiError(
                exc.code, f"{method} {path}: {exc.code} {exc.read().decode(errors='replace')}"
            ) from None
        return json.loads(text) if text else None

    def healthy(self) -> bool:
        """The API answers and sees a live metadata database and scheduler."""
        try:
            health = self.request("GET", "/api/v2/monitor/health")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False
        return all(health.get(part, {}).get("status") == "healthy" for part in ("metadatabase", "scheduler"))

    def dag_ids(self) -> set[str]:
        return {d["dag_id"] for d in self.request("GET", "/api/v2/dags?limit=1000")["dags"]}

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": paused})

    def set_pool(self, name: str, slots: int, description: str) -> None:
        """Create or resize a pool."""
        body = {"name": name, "slots": slots, "description": description, "include_deferred": False}
        try:
            self.request("POST", "/api/v2/pools", body)
        except AirflowApiError as exc:
            if exc.status != 409:
                raise
            self.request("PATCH", f"/api/v2/pools/{name}", body)

    def delete_runs(self, dag_id: str, logical_date: dt.date) -> list[str]:
        """Delete the runs of ``dag_id`` with this logical date, and their task instances
        (a run still going is failed first); their run ids."""
        stamp = urllib.parse.quote(_midnight(logical_date))
        found = self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns?logical_date_gte={stamp}&logical_date_lte={stamp}")
        for run in found["dag_runs"]:
            path = f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run['dag_run_id'])}"
            if run["state"] not in FINISHED_RUN_STATES:
                self.request("PATCH", path, {"state": "failed"})
            self.request("DELETE", path)
        return [run["dag_run_id"] for run in found["dag_runs"]]

    def trigger(self, dag_id: str, run_id: str, logical_date: dt.date) -> dict:
        """A manual run whose logical date is midnight UTC of ``logical_date``."""
        body = {"dag_run_id": run_id, "logical_date": _midnight(logical_date)}
        return self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)

    def run(self, dag_id: str, run_id: str) -> dict:
        return self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        """Every task instance of a run (mapped ones one per index)."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}/taskInstances?limit=1000"
        return self.request("GET", path)["task_instances"]


def _midnight(day: dt.date) -> str:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).isoformat()


@dataclass
class _Process:
    name: str
    popen: subprocess.Popen
    log_path: Path
    tree: list[int] = field(default_factory=list)  # its descendants when it was asked to stop


@dataclass
class LocalAirflow:
    """Airflow's components as child processes, stopped together (a context manager).

    Parameters
    ----------
    settings, warehouse_url
        The platform settings and the warehouse every task writes (its server also hosts
        the metadata database ``settings.airflow.metadata_db``).
    api_port
        Port of the API server and UI on 127.0.0.1; default: a free one.
    workers
        Celery workers; none means the LocalExecutor (tasks run as subprocesses of the
        scheduler), some start a Redis broker and the CeleryExecutor.
    env
        Extra environment for every Airflow process (e.g. ``AIRFLOW__SCHEDULER__*``).
    """

    settings: Settings
    warehouse_url: str
    api_port: int | None = None
    workers: tuple[CeleryWorker, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    _processes: list[_Process] = field(default_factory=list, init=False)
    _previous_sigterm: Any = field(default=None, init=False)
    _migrated: bool = field(default=False, init=False)
    _stopping: list[_Process] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        #: ``AIRFLOW_HOME``: task logs under ``logs/``, the processes' output under ``processes/``.
        self.home = self.settings.airflow_home
        self.api_port = self.api_port or free_port()
        self.redis_port = free_port() if self.workers else None
        self.api = AirflowApi(f"http://127.0.0.1:{self.api_port}")
        self.environment = self._environment()

    @property
    def executor(self) -> str:
        return "CeleryExecutor" if self.workers else "LocalExecutor"

    @property
    def ui_url(self) -> str:
        return f"http://localhost:{self.api_port}"

    def _environment(self) -> dict[str, str]:
        meta_db = self.settings.airflow.metadata_db
        ensure_database(self.warehouse_url, meta_db)
        meta_url = sqlalchemy_url(with_database(self.warehouse_url, meta_db))
        env = airflow_environment(self.settings, self.warehouse_url)
        env.update(
            {
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta_url,
                "AIRFLOW__CORE__EXECUTOR": self.executor,
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.api_port}/execution/",
                "AIRFLOW__API__BASE_URL": self.ui_url,
                # Tokens the scheduler signs must verify in the API server: one secret per stack.
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                # A task's successor is queued within a tenth of a second, not a second:
                # a chain of short tasks (the per-model dbt tasks) is bound by this latency.
                "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.1",
                # A task's supervisor notices its process has exited on the next heartbeat
                # tick (5 s by default), holding an executor slot that long after every task.
                "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
            }
        )
        if self.workers:
            env.update(
                {
                    "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
                    "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{meta_url}",
                    "AIRFLOW__CORE__HOSTNAME_CALLABLE": CELERY_HOSTNAME_CALLABLE,
                }
            )
        env.update(self.env)
        return env

    # -- processes -----------------------------------------------------------------

    def _spawn(self, name: str, argv: list[str]) -> _Process:
        log_dir = self.home / "processes"
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"{name}.log"
        with log_path.open("w") as log:
            # A session of its own: Ctrl-C in the terminal reaches only the parent, which
            # then stops the components in order.
            popen = subprocess.Popen(
                argv,
                env=self.environment,
                cwd=self.settings.home,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        process = _Process(name, popen, log_path)
        self._processes.append(process)
        return process

    def migrate(self) -> None:
        """Create or upgrade the metadata database (idempotent; entering the stack does it
        unless it was done already, e.g. on a thread while the caller prepared data)."""
        self.home.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["airflow", "db", "migrate"], env=self.environment, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise AirflowStackError(f"airflow db migrate failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
        self._migrated = True

    def start(self, timeout: float = 180.0) -> None:
        """Start every component and wait until the API sees a live scheduler."""
        if self.workers:
            self._start_redis()
        self._spawn(
            "api-server", ["airflow", "api-server", "--host", "127.0.0.1", "--port", str(self.api_port), "-w", "1"]
        )
        self._spawn("scheduler", ["airflow", "scheduler"])
        self._spawn("dag-processor", ["airflow", "dag-processor"])
        self._spawn("triggerer", ["airflow", "triggerer"])
        for worker in self.workers:
            self._spawn(
                worker.name,
                [
                    "airflow",
                    "celery",
                    "worker",
                    "--celery-hostname",
                    f"{worker.name}@%h",
                    "--queues",
                    ",".join(worker.queues),
                    "--concurrency",
                    str(worker.concurrency),
                    "--skip-serve-logs",  # task logs are files of this machine's AIRFLOW_HOME
                    "--without-gossip",
                    "--without-mingle",
                ],
            )
        self._wait(self.api.healthy, timeout, "the API server and scheduler to be healthy")
        cfg = self.settings.airflow
        self.api.set_pool(cfg.writers_pool, cfg.writers_slots, "tasks writing the warehouse in bulk")
        for worker in self.workers:
            self._wait(lambda w=worker: " ready." in self._log_of(w.name), timeout, f"Celery worker {worker.name}")

    def _start_redis(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise AirflowStackError("redis-server not found: `make redis` installs the Debian package")
        self._spawn(
            "redis",
            [binary, "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        )
        self._wait(self._redis_answers, 30, "redis-server")

    def _redis_answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.redis_port or 0), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def _log_of(self, name: str) -> str:
        process = next(p for p in self._processes if p.name == name)
        return process.log_path.read_text(errors="replace")

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            self.check_alive()
            if time.monotonic() > deadline:
                raise AirflowStackError(f"timed out after {timeout:.0f}s waiting for {what}")
            time.sleep(0.5)

    def check_alive(self) -> None:
        """Raise when a component exited, with the end of its output."""
        for process in self._processes:
            code = process.popen.poll()
            if code is not None:
                tail = "\n".join(process.log_path.read_text(errors="replace").splitlines()[-30:])
                raise AirflowStackError(f"{process.name} exited with code {code} ({process.log_path}):\n{tail}")

    def replace_runs(self, dag_id: str, logical_date: dt.date) -> None:
        """Delete the runs of ``dag_id`` on ``logical_date`` and their task logs (Airflow's
        default log layout), so that a new run with the same id starts with empty logs."""
        for run_id in self.api.delete_runs(dag_id, logical_date):
            shutil.rmtree(self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}", ignore_errors=True)

    def wait_until_stopped(self) -> None:
        """Block while every component runs (Ctrl-C raises ``KeyboardInterrupt`` here)."""
        while True:
            self.check_alive()
            time.sleep(1.0)

    def wait_for_dags(self, dag_ids: set[str], timeout: float = 180.0) -> None:
        """Wait until the DAG processor has stored every DAG in ``dag_ids``."""
        self._wait(lambda: dag_ids <= self.api.dag_ids(), timeout, f"the DAGs {sorted(dag_ids)} to be parsed")

    def kill_worker(self, name: str) -> None:
        """SIGKILL a Celery worker and every process under it, as if its machine died."""
        process = next(p for p in self._processes if p.name == name)
        _kill_tree(process.popen.pid, signal.SIGKILL)
        process.popen.wait()
        self._processes.remove(process)

    def terminate(self) -> None:
        """Ask every component to stop (SIGTERM to all at once) without waiting; ``stop``
        waits for them.  Running components are then no longer checked or signalled."""
        for process in self._processes:
            process.tree = [c.pid for c in _children(process.popen.pid)]
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.popen.pid, signal.SIGTERM)
        self._stopping += self._processes
        self._processes = []

    def stop(self, grace: float = 20.0) -> None:
        """Stop every component: SIGTERM, then SIGKILL to what is left after ``grace``
        seconds (and to task processes, which run in process groups of their own)."""
        self.terminate()
        processes, self._stopping = self._stopping, []
        deadline = time.monotonic() + grace
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
        for process in processes:
            for pid in (process.popen.pid, *process.tree):
                _kill_tree(pid, signal.SIGKILL)
            process.popen.wait()

    def open(self) -> LocalAirflow:
        """Migrate (unless done already), start, and stop everything again if the parent
        is terminated (the components run in sessions of their own); ``close`` undoes it."""
        if threading.current_thread() is threading.main_thread():
            self._previous_sigterm = signal.signal(signal.SIGTERM, _exit_on_sigterm)
        try:
            if not self._migrated:
                self.migrate()
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        try:
            self.stop()
        finally:
            if self._previous_sigterm is not None:
                signal.signal(signal.SIGTERM, self._previous_sigterm)
                self._previous_sigterm = None

    def __enter__(self) -> LocalAirflow:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- runs ----------------------------------------------------------------------

    def wait_for_run(
        self, dag_id: str, run_id: str, timeout: float = 1800.0, on_progress=None, poll: float = 0.25
    ) -> dict:
        """Poll a run until it finishes; ``on_progress(task_instances)`` after every poll."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            run = self.api.run(dag_id, run_id)
            if on_progress is not None:
                on_progress(self.api.task_instances(dag_id, run_id))
            if run["state"] in FINISHED_RUN_STATES:
                return run
            if time.monotonic() > deadline:
                raise AirflowStackError(f"{dag_id} run {run_id} still {run['state']} after {timeout:.0f}s")
            time.sleep(poll)


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _kill_tree(pid: int, sig: signal.Signals) -> None:
    for process in [*_children(pid), *_process(pid)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(sig)


def _process(pid: int) -> Iterator[psutil.Process]:
    with contextlib.suppress(psutil.NoSuchProcess):
        yield psutil.Process(pid)

"""A Spark standalone cluster on this machine: a master and its workers started from the
pyspark distribution (its `bin/spark-class`) on 127.0.0.1, so the Spark engine is tried on a
real cluster (separate JVMs, executors reading the Parquet facts themselves) without one.
The tests and `bench/indicators.py --engine spark --master local-cluster` start it; a
province's deployment points `spark_master` at its own cluster instead."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

HOST = "127.0.0.1"


class ClusterError(RuntimeError):
    """The cluster did not come up in time; the message holds the end of its logs."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def _spark_class() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent / "bin" / "spark-class"


def _alive_workers(ui_port: int) -> int:
    """How many workers the master counts as alive (its web UI's JSON)."""
    try:
        with urllib.request.urlopen(f"http://{HOST}:{ui_port}/json/", timeout=2) as response:
            found = json.load(response)
    except OSError:
        return -1
    return int(found.get("aliveworkers", 0))


def _tail(logs: list[Path]) -> str:
    return "\n".join(f"{p.name}: {p.read_text(errors='replace')[-1500:]}" for p in logs)


@contextmanager
def standalone(
    workers: int = 2, cores: int = 1, memory: str = "1g", wait_seconds: float = 90.0
) -> Iterator[str]:
    """Start the master and `workers` workers of `cores` cores each, wait until every worker
    has registered, yield the master's URL (spark://127.0.0.1:port) and stop them all."""
    spark_class = _spark_class()
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="caregrid-spark-")))
        env = {**os.environ, "SPARK_LOCAL_IP": HOST, "SPARK_HOME": str(spark_class.parents[1])}
        port, ui = _free_port(), _free_port()
        url = f"spark://{HOST}:{port}"
        commands = [
            ["org.apache.spark.deploy.master.Master", "--host", HOST, "--port", str(port),
             "--webui-port", str(ui)],
            *(
                ["org.apache.spark.deploy.worker.Worker", url, "--host", HOST, "--cores",
                 str(cores), "--memory", memory, "--webui-port", str(_free_port()),
                 "--work-dir", str(scratch / f"worker-{n}")]
                for n in range(workers)
            ),
        ]  # fmt: skip
        logs: list[Path] = []
        processes: list[subprocess.Popen[bytes]] = []

        def stop() -> None:
            for process in reversed(processes):
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

        stack.callback(stop)
        for n, command in enumerate(commands):
            log = scratch / f"{'master' if n == 0 else f'worker-{n}'}.log"
            logs.append(log)
            with log.open("wb") as out:
                processes.append(
                    subprocess.Popen(
                        [str(spark_class), *command],
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        env=env,
                        cwd=scratch,
                    )
                )
        deadline = time.monotonic() + wait_seconds
        while _alive_workers(ui) < workers:
            dead = [p for p in processes if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                raise ClusterError(
                    f"the Spark cluster at {url} did not start {workers} workers within "
                    f"{wait_seconds:.0f} s\n{_tail(logs)}"
                )
            time.sleep(0.5)
        yield url

"""Command-line latency benchmark (issue 15). Run: ``.venv/bin/python -m bench.cli [--repeats 5] [--images 30]``.

Real ``qc`` processes (``python -m qc.cli``) on SQLite databases in one temporary folder (so they
share one Prefect home, ``.prefect`` there), timed from start to exit, median of ``--repeats``:

- ``qc --help``;
- ``qc round status R`` on a scored 30-image round;
- ``qc round score R`` on that round, with nothing left to score;
- ``qc round ingest R DELIVERY`` + ``qc round score R`` on a fresh 30-image, 3-annotator round
  (1024x768, 20 instances per annotator; a copy of one prepared database per run).

Cold: the local Prefect server is stopped (``qc server stop``) before each command, so a flow
command starts one; warm: it runs. ``--code PATH`` times the qc of another checkout (put first
on ``PYTHONPATH``), e.g. a clone of main, for the before/after table. A digest of every round's
stored results (scores, flags, verdicts, consensus, without ids and times) is printed, so two
checkouts can be shown to store the same results. The warm CPU column is the CPU time of the
command and the processes it waited for (its scoring workers; not the Prefect server), a
figure a busy shared machine inflates less than the wall time. The last line says whether the
installed packages' bytecode is compiled (``make install`` compiles it; without it, and with
``PYTHONDONTWRITEBYTECODE=1``, every command compiles each module it imports, ~2 s of a flow command).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.workload import prepare, stored_contents

TARGETS = {"qc --help": 0.5, "qc round status": 1.0, "no-op qc round score": 3.0, "ingest + score, 30 images": 8.0}


def environment(code: Path | None) -> dict[str, str]:
    """No Prefect API configured (so that the command's own choice is timed), analytics off."""
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_HOME", "QC_PREFECT_EPHEMERAL")}
    env.update({"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"})
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(code), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


class Runner:
    def __init__(self, folder: Path, code: Path | None) -> None:
        self.folder = folder
        self.env = environment(code)

    cpu = 0.0
    """CPU seconds (user + system) of the timed commands and the processes they waited for, so far."""

    def qc(self, *args: str, expect: str = "") -> float:
        """Seconds one ``qc ARGS`` process took (it must succeed and print ``expect``); its CPU adds to ``cpu``."""
        before = _children_cpu()
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "qc.cli", *args], cwd=self.folder, env=self.env, capture_output=True, text=True
        )
        elapsed = time.perf_counter() - start
        self.cpu += _children_cpu() - before
        if done.returncode != 0 or expect not in done.stdout:
            raise SystemExit(f"qc {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return elapsed

    def stop_server(self, url: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "qc.cli", "server", "stop", "--db", url],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            check=False,
        )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bytecode_note() -> str:
    """Whether the commands find the installed packages' bytecode (SQLAlchemy's stands for all), and may write it."""
    from importlib.util import cache_from_source

    import sqlalchemy

    compiled = Path(cache_from_source(str(sqlalchemy.__file__))).exists()
    writes = "not written by Python (PYTHONDONTWRITEBYTECODE)" if sys.flags.dont_write_bytecode else "written on import"
    where = f" under {sys.pycache_prefix}" if sys.pycache_prefix else ""
    return f"bytecode of the installed packages: {'compiled' if compiled else 'missing'}{where}, {writes}"


def digest(url: str, round_id: int) -> str:
    contents = stored_contents(url, round_id)
    return hashlib.sha256(json.dumps(contents, sort_keys=True, default=str).encode()).hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--code", type=Path, default=None, help="Time the qc of this checkout instead.")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="qc-bench-cli-"))
    try:
        run(folder, args.images, args.repeats, args.code)
    finally:
        Runner(folder, args.code).stop_server(f"sqlite:///{folder / 'scored.db'}")
        shutil.rmtree(folder, ignore_errors=True)


def run(folder: Path, images: int, repeats: int, code: Path | None) -> None:
    prepared = prepare(f"sqlite:///{folder / 'fresh.db'}", folder, images, ingested=False)
    r = str(prepared.round_id)
    delivery = str(prepared.delivery)
    runner = Runner(folder, code)
    scored = f"sqlite:///{folder / 'scored.db'}"
    shutil.copy(folder / "fresh.db", folder / "scored.db")
    runner.qc("round", "ingest", r, delivery, "--db", scored)
    runner.qc("round", "score", r, "--db", scored, expect=f"scored {images} images ({images} changed)")
    print(f"code: {code or 'this checkout'}; {images} images x 3 annotators; {repeats} runs each; folder {folder}")
    times: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    digests: set[str] = set()
    for phase in ("cold", "warm"):
        if phase == "warm":
            runner.qc("round", "score", r, "--db", scored)  # the server runs from here on
        for k in range(repeats):
            fresh = f"sqlite:///{folder / f'{phase}{k}.db'}"
            shutil.copy(folder / "fresh.db", folder / f"{phase}{k}.db")
            samples: dict[str, float] = {}
            for name, commands in (
                ("qc --help", [(["--help"], "round")]),
                ("qc round status", [(["round", "status", r, "--db", scored], f"{images} images")]),
                ("no-op qc round score", [(["round", "score", r, "--db", scored], "scored 0 images")]),
                (
                    f"ingest + score, {images} images",
                    [
                        (["round", "ingest", r, delivery, "--db", fresh], "new submissions"),
                        (["round", "score", r, "--db", fresh], f"scored {images} images ({images} changed)"),
                    ],
                ),
            ):
                if phase == "cold":
                    runner.stop_server(scored)
                before = runner.cpu
                samples[name] = sum(runner.qc(*command, expect=expect) for command, expect in commands)
                cpu.setdefault((phase, name), []).append(runner.cpu - before)
            for name, seconds in samples.items():
                times.setdefault((phase, name), []).append(seconds)
            digests.add(digest(fresh, prepared.round_id))
            print(f"{phase} run {k + 1}: " + ", ".join(f"{name} {s:.2f} s" for name, s in samples.items()), flush=True)
    print()
    print("| command | cold, s | warm, s | target (warm) | warm CPU, s |")
    print("| --- | --- | --- | --- | --- |")
    for name, target in TARGETS.items():
        name = name.replace("30 images", f"{images} images")
        cold = statistics.median(times[("cold", name)])
        warm = statistics.median(times[("warm", name)])
        used = statistics.median(cpu[("warm", name)])
        print(f"| {name} | {cold:.2f} | {warm:.2f} | ≤ {target:g} | {used:.2f} |")
    print()
    print(f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    print(f"stored results of the {2 * repeats} fresh rounds: digest {', '.join(sorted(digests))}")
    print(bytecode_note())


if __name__ == "__main__":
    main()

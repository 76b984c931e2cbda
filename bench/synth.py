"""Synthetic city: how fast `caregrid synth` writes a year of facts, and how much memory it takes.

Runs the generator (caregrid.synth.city.generate, the function behind `caregrid synth`) for
--residents residents of a shipped layout into a scratch directory (removed afterwards unless
--out is given), then prints the rows per fact, the files and bytes written, the machine, and
one final JSON line with `events` (rows of every fact), `seconds` (wall time of the whole
generation, layout and rates loading included), `events_per_s`, `cpu_s` and `peak_rss_mb`
(the process's peak resident set). The aim is more than 1 million events a second on a 2-core
machine, with a 10-million-resident city in well under 8 GiB.

    .venv/bin/python bench/synth.py [--residents 1000000] [--layout jinhua] [--year 2024]
        [--seed 1] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=1_000_000)
    parser.add_argument("--layout", default="jinhua")
    parser.add_argument("--year", type=int, default=2024)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="keep the files here")
    args = parser.parse_args()

    import numpy
    import pyarrow

    from caregrid.synth.city import generate

    scratch = None
    out = args.out
    if out is None:
        scratch = tempfile.mkdtemp(prefix="caregrid-synth-bench-")
        out = Path(scratch)
    try:
        cpu0 = time.process_time()
        started = time.perf_counter()
        counts = generate(args.layout, args.residents, args.year, args.seed, out)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu0
        files = [p for p in out.rglob("*.parquet") if p.is_file()]
        size = sum(p.stat().st_size for p in files)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)

    events = sum(counts.values())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(
        f"machine: {platform.machine()} {platform.processor() or ''} cpus={os.cpu_count()} "
        f"python={platform.python_version()} numpy={numpy.__version__} "
        f"pyarrow={pyarrow.__version__}"
    )
    print(
        f"city: {args.layout} {args.year}, {args.residents:,} residents, seed {args.seed}; "
        f"{len(files)} Parquet files, {size / 2**20:,.1f} MiB"
    )
    for name, rows in counts.items():
        print(f"  {name:<22} {rows:>12,}")
    print(
        f"{events:,} events in {seconds:.2f} s: {events / seconds:,.0f} events/s; "
        f"CPU {cpu:.2f} s ({cpu / seconds:.0%} of one core); peak RSS {peak_mb:,.0f} MiB"
    )
    result = {
        "layout": args.layout,
        "residents": args.residents,
        "year": args.year,
        "seed": args.seed,
        "events": events,
        "seconds": round(seconds, 2),
        "events_per_s": round(events / seconds),
        "cpu_s": round(cpu, 2),
        "peak_rss_mb": round(peak_mb),
        "files": len(files),
        "bytes": size,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "rows": counts,
        "aim_met": events / seconds > 1_000_000,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()

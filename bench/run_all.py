"""Run every benchmark and fault drill, then print one table of the figures.

    python3 bench/run_all.py [--skip NAME ...]

Each benchmark runs as its own process (they start their own Odoo servers
and Home Assistant peers); its full output goes to a log file, and every
line it marks PASS or MISS, plus the drill outcomes, is gathered below.
"""

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

from common import BENCH_DIR, load_average, machine

BENCHMARKS = {
    "routes": "route latency, threaded and prefork (issue 3)",
    "realtime": "HA to browser, ingest, full sync (issue 4)",
    "frontend": "dashboard and ha_data cache in Chromium (issue 5)",
    "drills": "fault drills (issue 6)",
}
VERDICT = re.compile(r"\b(PASS|MISS)\b")
HERE = Path(__file__).resolve().parent


def run(name):
    log_path = BENCH_DIR / f"run_all-{name}.log"
    started = time.monotonic()
    with open(log_path, "w") as log:
        completed = subprocess.run(
            [sys.executable, f"{name}.py"],
            cwd=HERE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=1800,
            check=False,
        )
        log.write(completed.stdout)
    lines = completed.stdout.splitlines()
    # A benchmark may print a verdict twice (as it goes, then in a summary).
    rows = list(dict.fromkeys(line.strip() for line in lines if VERDICT.search(line) or line.startswith("median")))
    if name == "drills":
        rows = [line.strip("| ") for line in lines if line.startswith("| ") and not line.startswith("| drill")]
    return rows, completed.returncode, time.monotonic() - started, log_path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip", nargs="*", default=[], choices=sorted(BENCHMARKS))
    args = parser.parse_args()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in BENCHMARKS:
        if name in args.skip:
            continue
        print(f"running {name}: {BENCHMARKS[name]} ({load_average()})", flush=True)
        results[name] = run(name)
    print()
    print("\n".join(machine()))
    print()
    print("| benchmark | figure |")
    print("|---|---|")
    for name, (rows, code, seconds, log_path) in results.items():
        for row in rows:
            print(f"| {name} | {' '.join(row.split())} |")
        status = "ok" if code == 0 else f"exit code {code}"
        print(f"| {name} | run {status} in {seconds:.0f} s, full output: {log_path} |")
    sys.exit(max((code for _rows, code, _s, _l in results.values()), default=0))


if __name__ == "__main__":
    main()

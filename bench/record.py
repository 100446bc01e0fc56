"""Run one benchmark command and keep its printed tables as its section of bench/RESULTS.md.

python -m bench.record compare -- python -m bench.compare
python -m bench.record reconcile --title "Reconcile" -- python -m bench.reconcile --documents 50000
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from bench.results_file import update_section

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def main(argv: list[str] | None = None) -> int:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("section", help="section name in bench/RESULTS.md")
    parser.add_argument("--title", help="section heading (default: the section name)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    given = list(sys.argv[1:] if argv is None else argv)
    if "--" not in given or given.index("--") == len(given) - 1:
        parser.error("give the benchmark command after --")
    split = given.index("--")
    args = parser.parse_args(given[:split])
    command = given[split + 1 :]
    load = os.getloadavg()[0]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        print(f"record: {' '.join(command)} exited {done.returncode}; results not written", file=sys.stderr)
        return done.returncode
    shown = " ".join(c if not c.endswith("python") else "python" for c in command)
    heading = args.title or args.section
    markdown = (
        f"## {heading} (`{shown}`)\n\n"
        f"Measured {started}; {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"1-minute load average {load:.2f} at the start.\n\n"
        f"```\n{done.stdout.strip()}\n```\n"
    )
    update_section(args.out, args.section, markdown)
    print(f"record: wrote section {args.section!r} of {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

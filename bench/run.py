"""``make bench``: run every benchmark script and print what each reports.

Convention: each ``bench/*.py`` other than this file and files starting with
``_`` is a benchmark script run as ``python bench/NAME.py`` from the
repository root. It prints its own figures and asserts none of them.
``python bench/run.py search crypto`` runs only the scripts named.
"""

import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def scripts(selected: list[str]) -> list[Path]:
    found = sorted(p for p in BENCH.glob("*.py") if p.name != "run.py" and not p.name.startswith("_"))
    if selected:
        found = [p for p in found if p.stem in selected]
    return found


def main(argv: list[str]) -> int:
    failed = []
    for script in scripts(argv):
        print(f"== {script.stem}", flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, str(script)], cwd=BENCH.parent)
        print(f"== {script.stem}: {'ok' if result.returncode == 0 else 'FAILED'} in {time.monotonic() - started:.1f} s\n",
              flush=True)
        if result.returncode != 0:
            failed.append(script.stem)
    if failed:
        print(f"benchmarks that failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

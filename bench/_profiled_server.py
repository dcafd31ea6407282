"""``python bench/_profiled_server.py``: the server under cProfile, counting the
event loop thread's CPU time (``time.thread_time``), so that neither a loaded
machine nor the database driver's own thread distorts it.

SIGUSR1 switches the profiler on, SIGUSR2 switches it off and writes the
statistics to ``$SEALROOM_PROFILE_OUT`` (pstats format). bench_fanout.py sends
them around the measured phase when BENCH_PROFILE is set, so that sign-ups
(argon2id) and room creation stay out of the profile.
"""

import cProfile
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.__main__ import main  # noqa: E402

profiler = cProfile.Profile(time.thread_time)


def _start(*_) -> None:
    profiler.enable()


def _stop(*_) -> None:
    profiler.disable()
    profiler.dump_stats(os.environ["SEALROOM_PROFILE_OUT"])


if __name__ == "__main__":
    signal.signal(signal.SIGUSR1, _start)
    signal.signal(signal.SIGUSR2, _stop)
    sys.exit(main())

# The page's private history search (pyclient.search.HistoryIndex) over 10,000
# messages, timed inside Pyodide. Loaded by history_in_pyodide.mjs.
import random
import statistics
import sys
import time

sys.path.insert(0, "/repo")
from pyclient.search import HistoryEntry, HistoryIndex, normalize  # noqa: E402

WORDS = ("hẹn gặp lúc giờ tối nay phở bún chả cà phê cảm ơn nhé được không Nguyễn Trần Lê Đà Lạt Hà Nội "
         "meeting tomorrow slides deadline coffee thanks review deploy holiday photos budget plan").split()
rng = random.Random(7)
history = HistoryIndex()
started = time.perf_counter()
for seq in range(10_000):
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(3, 20)))
    history.add(HistoryEntry(f"r{seq % 30}", seq, "someone", text, "2026-12-01T00:00:00"))
print(f"history search in Pyodide {sys.version.split()[0]}: 10,000 messages indexed in "
      f"{(time.perf_counter() - started) * 1000:.0f} ms")


def typo(word):
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


for label, make in (("word", lambda w: w), ("prefix", lambda w: w[:3]), ("fuzzy", typo)):
    times = []
    for _ in range(100):
        query = make(normalize(rng.choice(WORDS)))
        began = time.perf_counter()
        history.search(query)
        times.append((time.perf_counter() - began) * 1000)
    cuts = statistics.quantiles(times, n=100)
    print(f"  {label:7} p50 {cuts[49]:6.1f} ms   p95 {cuts[94]:6.1f} ms   p99 {cuts[98]:6.1f} ms")

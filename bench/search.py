"""Search benchmark: the relevance table, then 100,000 users and 100,000 rooms.

Prints, asserting nothing (the target is p95 under 20 ms):

* P@1 and MRR@5 on the project's relevance table (tests/test_search_relevance.py);
* the index build time, its reload time (a restart) and peak RSS;
* p50/p95/p99 for searchers with 100, 2,000 and 5,000 contacts (5,000 with
  500 rooms), warm, right after an index commit (of an event elsewhere on
  the server), and cold (the searcher's scope built for this query, as on
  their first search or after a change to one of their contacts);
* the page's private history search over 10,000 messages
  (``pyclient.search.HistoryIndex``, run here in CPython; in Pyodide expect
  it a few times slower).

``SEALROOM_BENCH_SCALE=0.1`` runs a tenth of the server-wide size.
"""

import gc
import os
import random
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyclient.search import HistoryEntry, HistoryIndex, normalize  # noqa: E402
from search_index import SearchIndex, room_event, user_event  # noqa: E402
from search_index.index import room_document, user_document  # noqa: E402

SCALE = float(os.environ.get("SEALROOM_BENCH_SCALE", "1"))
USERS = int(100_000 * SCALE)
ROOMS = int(100_000 * SCALE)
MESSAGES = 10_000
QUERIES = 300
COLD_QUERIES = 100
SEARCHERS = {100: 10, 2_000: 200, 5_000: 500}  # contacts -> rooms (of 10 other members each)
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)

VI_FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ",
             "Ngô", "Dương", "Lý", "Đinh", "Lương", "Trịnh", "Mai", "Tô", "Lâm", "Quách", "Tạ", "Châu"]
VI_MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quốc", "Gia", "Xuân", "Kim", "Bảo", "Anh"]
VI_GIVEN = ["An", "Bình", "Châu", "Dũng", "Đạt", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa", "Hùng", "Hương",
            "Huy", "Khánh", "Khoa", "Lan", "Linh", "Long", "Mai", "Minh", "My", "Nam", "Nga", "Ngân", "Nhung",
            "Phong", "Phúc", "Phương", "Quân", "Quang", "Quỳnh", "Sơn", "Tâm", "Thảo", "Thắng", "Thành", "Thủy",
            "Tiến", "Trang", "Trí", "Trung", "Tú", "Tuấn", "Tùng", "Uyên", "Vân", "Việt", "Vy", "Yến"]
EN_GIVEN = ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth",
            "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
            "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Sandra", "Emily", "Olivia", "Noah",
            "Liam", "Emma", "Ava", "Sophia", "Isabella", "Mia", "Lucas", "Ethan", "Chloe"]
EN_FAMILY = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
             "Martinez", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson",
             "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott"]
ROOM_WORDS_VI = ["Nhóm", "Dự án", "Phòng", "Kế hoạch", "Gia đình", "Bạn bè", "Lớp", "Đội", "Họp", "Du lịch",
                 "Tết", "Sinh nhật", "Cà phê", "Bóng đá", "Học tập", "Công việc", "Đà Nẵng", "Hà Nội", "Sài Gòn",
                 "Huế", "Nha Trang", "Marketing", "Kỹ thuật", "Thiết kế", "Bán hàng"]
ROOM_WORDS_EN = ["Team", "Project", "Planning", "Family", "Friends", "Book club", "Design", "Engineering",
                 "Marketing", "Sales", "Weekend", "Trip", "Launch", "Standup", "Retro", "Hiking", "Football",
                 "Support", "Research", "Release", "Budget", "Hiring", "Alpha", "Beta", "Quarterly"]


def person_name(rng: random.Random) -> str:
    if rng.random() < 0.6:
        parts = [rng.choice(VI_FAMILY), rng.choice(VI_MIDDLE), rng.choice(VI_GIVEN)]
    else:
        parts = [rng.choice(EN_GIVEN), rng.choice(EN_FAMILY)]
    return " ".join(parts)


def username(rng: random.Random, name: str, index: int) -> str:
    """Handles like real ones: ``nguyen.van.an``, ``an.nguyen94``, ``sarah_k``: many distinct words."""
    words = normalize(name).split()
    style = rng.randrange(4)
    if style == 0:
        handle = ".".join(words)
    elif style == 1:
        handle = f"{words[-1]}.{words[0]}{rng.randrange(100)}"
    elif style == 2:
        handle = f"{words[0]}_{words[-1][0]}{rng.randrange(1000)}"
    else:
        handle = f"{''.join(w[0] for w in words[:-1])}{words[-1]}{rng.randrange(10000)}"
    return f"{handle}{index}" if rng.random() < 0.3 else handle


def room_name(rng: random.Random) -> str:
    words = ROOM_WORDS_VI if rng.random() < 0.5 else ROOM_WORDS_EN
    name = " ".join(rng.sample(words, rng.choice((1, 2, 2, 3))))
    return f"{name} {rng.randrange(2020, 2027)}" if rng.random() < 0.3 else name


def typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]   # swap
    if kind == 1:
        return word[:i] + word[i + 1:]                           # missing letter
    return word[:i] + rng.choice("aeiou") + word[i + 1:]           # wrong letter


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return f"p50 {pick(0.50) * 1000:6.2f}  p95 {pick(0.95) * 1000:6.2f}  p99 {pick(0.99) * 1000:6.2f} ms"


class Timer:
    """Wall-clock and CPU time of one call: on a shared machine the CPU time
    is the steadier figure, the wall time is what a user would wait."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __enter__(self):
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_exc) -> None:
        self.wall.append(time.perf_counter() - self._wall)
        self.cpu.append(time.process_time() - self._cpu)

    @property
    def count(self) -> int:
        return len(self.wall)

    def report(self) -> str:
        return f"wall {percentiles(self.wall)} | cpu {percentiles(self.cpu)} (n={len(self.wall)})"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """Resident now (Linux), beside the peak: a spike shows as a gap between them."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return float("nan")


def telex(word: str) -> str:
    """What a Telex typist leaves behind when the IME is off: ``nguyễn`` -> ``nguyeenx``."""
    out = word.lower()
    for plain, typed in (("â", "aa"), ("ê", "ee"), ("ô", "oo"), ("đ", "dd"), ("ă", "aw"), ("ơ", "ow"), ("ư", "uw")):
        out = out.replace(plain, typed)
    return normalize(out) + "s"


def query_mix(rng: random.Random, names: list[str], count: int) -> list[str]:
    """Display names and usernames as people type them: whole, a prefix, a typo, joined, Telex."""
    queries = []
    for _ in range(count):
        name = rng.choice(names)
        folded = normalize(name).split()
        kind = rng.randrange(6)
        if kind == 0:
            queries.append(name)
        elif kind == 1:
            queries.append(folded[-1][:3])
        elif kind == 2:
            queries.append(" ".join(typo(rng, w) for w in folded[:2]))
        elif kind == 3:
            queries.append("".join(folded))
        elif kind == 4:
            queries.append(" ".join(reversed(folded)))
        else:
            queries.append(telex(name.split()[-1]))
    return queries


def table_figures() -> None:
    from tests.test_search_relevance import TABLE, table_documents, table_scores

    with tempfile.TemporaryDirectory() as tmp:
        index = SearchIndex.create(Path(tmp) / "search", table_documents())
        p_at_1, mrr_at_5 = table_scores(index)
        index.close()
    print(f"relevance table ({len(TABLE)} queries): P@1 {p_at_1:.3f}  MRR@5 {mrr_at_5:.3f}")


def main() -> None:
    table_figures()
    rng = random.Random(20261201)
    names = [person_name(rng) for _ in range(USERS)]
    handles = [username(rng, name, i) for i, name in enumerate(names)]
    user_ids = [f"u{i}" for i in range(USERS)]
    documents = [user_document(user_event(uid, handle, name)) for uid, handle, name in zip(user_ids, handles, names)]
    for r in range(ROOMS):
        members = rng.sample(user_ids, rng.randrange(2, 9))
        documents.append(room_document(room_event(f"r{r}", room_name(rng), members, NOW + timedelta(days=7))))
    searchers = {}
    for contacts, room_count in SEARCHERS.items():
        me = f"searcher{contacts}"
        documents.append(user_document(user_event(me, me, f"Searcher {contacts}")))
        pool = rng.sample(user_ids, contacts)
        co_members, rooms = set(), []
        for r in range(room_count):
            members = pool[r * 10 % contacts:][:10] if contacts >= room_count * 10 else rng.sample(pool, 10)
            co_members.update(members)
            rooms.append(room_name(rng))
            documents.append(room_document(room_event(f"{me}-r{r}", rooms[-1], [me, *members],
                                                      NOW + timedelta(days=7, minutes=r))))
        searchers[contacts] = (me, co_members, [names[int(m[1:])] for m in co_members] + rooms)
    print(f"{USERS:,} users and {ROOMS:,} rooms, plus the searchers' rooms; "
          f"peak RSS before the index: {peak_rss_mb():.0f} MB")

    with tempfile.TemporaryDirectory() as tmp:
        build = Timer()
        with build:
            index = SearchIndex.create(Path(tmp) / "search", documents)
        print(f"index build: wall {build.wall[0]:.1f} s, cpu {build.cpu[0]:.1f} s for {index.doc_count():,} documents; "
              f"peak RSS {peak_rss_mb():.0f} MB")
        index.close()
        reload = Timer()
        with reload:
            index = SearchIndex.open(Path(tmp) / "search")
        gc.freeze()  # as IndexUpdater does once the index is open
        print(f"index reload (a restart; runs in the background while the server serves): "
              f"wall {reload.wall[0]:.1f} s, cpu {reload.cpu[0]:.1f} s; peak RSS {peak_rss_mb():.0f} MB")

        elsewhere = iter(range(10**9))
        for contacts, (me, co_members, scope_names) in searchers.items():
            queries = query_mix(rng, scope_names, QUERIES)
            print(f"  searcher with {len(co_members):,} contacts and {SEARCHERS[contacts]} rooms:")
            index.search(queries[0], user_id=me, co_member_ids=co_members, now=NOW)  # warm the scope
            for label in ("warm", "after a commit", "cold"):
                timer, found = Timer(), 0
                for query in queries[:COLD_QUERIES] if label == "cold" else queries:
                    if label == "after a commit":  # someone elsewhere renamed a room
                        event = room_event(f"r{next(elsewhere) % ROOMS}", "Renamed", ["u1", "u2"],
                                           NOW + timedelta(days=7))
                        index.apply([event])
                        index.refresh([event])
                    elif label == "cold":
                        index.scopes.scopes.clear()
                    with timer:
                        results = index.search(query, user_id=me, co_member_ids=co_members, now=NOW)
                    found += bool(results.users or results.rooms)
                print(f"    {label:15} {timer.report()}  found: {found}/{timer.count}; "
                      f"RSS {rss_mb():.0f} MB, peak {peak_rss_mb():.0f} MB")
        print(f"peak RSS {peak_rss_mb():.0f} MB")
        index.close()

    history = HistoryIndex()
    vocabulary = [w for line in (ROOM_WORDS_VI + ROOM_WORDS_EN + VI_GIVEN + EN_GIVEN) for w in line.split()]
    vocabulary += ["hẹn", "gặp", "lúc", "giờ", "tối", "nay", "meeting", "tomorrow", "slides", "deadline", "phở",
                   "bún", "chả", "coffee", "ok", "thanks", "cảm", "ơn", "nhé", "được", "không", "review", "deploy"]
    adding = Timer()
    with adding:
        for seq in range(MESSAGES):
            text = " ".join(rng.choice(vocabulary) for _ in range(rng.randrange(3, 20))) + f" #{seq}"
            history.add(HistoryEntry(f"r{seq % 30}", seq, "someone", text, "2026-12-01T00:00:00"))
    print(f"history index (CPython): {MESSAGES:,} messages added: wall {adding.wall[0] * 1000:.0f} ms, "
          f"cpu {adding.cpu[0] * 1000:.0f} ms")
    for label, queries in {
        "word": [normalize(rng.choice(vocabulary)) for _ in range(QUERIES)],
        "prefix": [normalize(rng.choice(vocabulary))[:3] for _ in range(QUERIES)],
        "fuzzy": [typo(rng, normalize(rng.choice(vocabulary))) for _ in range(QUERIES)],
    }.items():
        timer = Timer()
        for query in queries:
            with timer:
                history.search(query)
        print(f"  history {label:20} {timer.report()}")


if __name__ == "__main__":
    main()

"""Search benchmark: 100,000 users and 100,000 rooms, Vietnamese and English names.

Prints the index build time and query latency (p50/p95/p99) for exact,
prefix and fuzzy queries, as a member of 20 rooms (the API's path, privacy
filters included), then the page's private history search over 10,000
messages (``pyclient.search.HistoryIndex``, run here in CPython; in Pyodide
expect it a few times slower). Nothing is asserted: the target is p95 under
20 ms. ``SEALROOM_BENCH_SCALE=0.1`` runs a tenth of it.
"""

import os
import random
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
WHOOSH_PATH_QUERIES = 50
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

    def report(self) -> str:
        return f"wall {percentiles(self.wall)} | cpu {percentiles(self.cpu)} (n={len(self.wall)})"


def main() -> None:
    rng = random.Random(20261201)
    names = [person_name(rng) for _ in range(USERS)]
    handles = [username(rng, name, i) for i, name in enumerate(names)]
    user_ids = [f"u{i}" for i in range(USERS)]
    me = user_ids[0]
    my_rooms = set(rng.sample(range(ROOMS), 20))
    room_names, room_members = [], []
    documents = [user_document(user_event(uid, handle, name)) for uid, handle, name in zip(user_ids, handles, names)]
    for r in range(ROOMS):
        members = rng.sample(user_ids[1:], rng.randrange(2, 9)) + ([me] if r in my_rooms else [])
        room_names.append(room_name(rng))
        room_members.append(members)
        documents.append(room_document(room_event(f"r{r}", room_names[-1], members, NOW + timedelta(days=7))))
    co_members = {m for r in my_rooms for m in room_members[r]}
    print(f"{USERS:,} users and {ROOMS:,} rooms; the searcher is in {len(my_rooms)} rooms "
          f"with {len(co_members)} people")

    with tempfile.TemporaryDirectory() as tmp:
        build = Timer()
        with build:
            index = SearchIndex.create(Path(tmp) / "search", documents)
        print(f"index build: wall {build.wall[0]:.1f} s, cpu {build.cpu[0]:.1f} s for {index.doc_count():,} documents")

        co_names = [names[int(m[1:])] for m in co_members] + [room_names[r] for r in my_rooms]
        any_names = names + room_names
        workloads = {
            "exact username (anyone)": [handles[rng.randrange(USERS)] for _ in range(QUERIES)],
            "exact name (co-member/room)": [rng.choice(co_names) for _ in range(QUERIES)],
            "prefix, 3 letters": [normalize(rng.choice(any_names))[:3] for _ in range(QUERIES)],
            "prefix, 2 words": [" ".join(w[:4] for w in normalize(rng.choice(co_names)).split()[:2])
                                for _ in range(QUERIES)],
            "fuzzy, 1 word": [typo(rng, max(normalize(rng.choice(any_names)).split(), key=len)) for _ in range(QUERIES)],
            "fuzzy, 2 words": [" ".join(typo(rng, w) for w in normalize(rng.choice(co_names)).split()[:2])
                               for _ in range(QUERIES)],
        }
        for label, queries in workloads.items():
            index.search(queries[0], user_id=me, co_member_ids=co_members, now=NOW)  # warm caches
            timer, hits = Timer(), 0
            for query in queries:
                with timer:
                    results = index.search(query, user_id=me, co_member_ids=co_members, now=NOW)
                hits += bool(results.users or results.rooms)
            print(f"  {label:28} {timer.report()}  found: {hits}/{len(queries)}")
        # An account in more rooms or with more contacts than the scan limit
        # (2,000) goes through Whoosh's queries: far slower, so fewer runs.
        index.scope_scan_limit = 0
        for label in ("prefix, 3 letters", "fuzzy, 1 word"):
            timer = Timer()
            for query in workloads[label][:WHOOSH_PATH_QUERIES]:
                with timer:
                    index.search(query, user_id=me, co_member_ids=co_members, now=NOW)
            print(f"  {label + ' (Whoosh path)':28} {timer.report()}")
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

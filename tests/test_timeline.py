"""The open room's messages as the page lays them out (pyclient.timeline), without a browser."""

from datetime import date

from pyclient.timeline import HISTORY_PAGE, THIS_WEEK, TODAY, YESTERDAY, Slot, Timeline, relative_day

MON, TUE = date(2026, 3, 2), date(2026, 3, 3)


def messages(*seqs):
    return [{"seq": seq} for seq in seqs]


def test_a_message_arriving_twice_is_shown_once_and_in_order():
    timeline = Timeline()
    assert [m["seq"] for m in timeline.fresh(messages(3, 1, 2, 3))] == [1, 2, 3]
    assert timeline.fresh(messages(2, 3)) == []  # the catch-up after a reconnect
    assert [m["seq"] for m in timeline.fresh(messages(3, 4))] == [4]


def test_a_short_page_is_the_rooms_first_so_no_older_page_is_asked_for():
    timeline = Timeline()
    assert timeline.older_cursor() is None  # nothing shown yet
    newest = messages(*range(31, 31 + HISTORY_PAGE))
    timeline.page_loaded(newest)
    timeline.fresh(newest)
    assert timeline.older_cursor() == 31
    timeline.loading_older = True
    assert timeline.older_cursor() is None  # one older page at a time
    timeline.loading_older = False
    older = messages(*range(1, 31))
    timeline.page_loaded(older)
    timeline.fresh(older)
    assert timeline.complete and timeline.older_cursor() is None


def test_a_full_page_may_have_more_above_it():
    timeline = Timeline()
    timeline.page_loaded(messages(*range(HISTORY_PAGE)))
    assert not timeline.complete


def test_separators_go_before_each_new_day_and_names_above_each_run():
    timeline = Timeline()
    layout = timeline.place([Slot(MON, "ann"), Slot(MON, "ann"), Slot(MON, "bob"), Slot(TUE, "bob")])
    assert layout.separators == [True, False, False, True]
    assert layout.heads == [True, False, True, True]  # a new day starts a new run
    more = timeline.place([Slot(TUE, "bob"), Slot(TUE, "ann")])  # live messages continue at the bottom
    assert (more.separators, more.heads) == ([False, False], [False, True])


def test_a_message_that_failed_its_checks_stands_alone():
    timeline = Timeline()
    layout = timeline.place([Slot(MON, "ann"), Slot(MON, None), Slot(MON, "ann"), Slot(MON, None), Slot(MON, None)])
    assert layout.heads == [True, True, True, True, True]


def test_an_older_page_continues_the_day_and_run_of_the_top_message():
    timeline = Timeline()
    timeline.place([Slot(TUE, "bob"), Slot(TUE, "ann")])
    older = timeline.place([Slot(MON, "ann"), Slot(TUE, "bob")], older=True)
    assert older.separators == [True, True] and older.heads == [True, True]
    assert older.same_day_as_top and older.same_run_as_top  # the old top's separator and name go
    oldest = timeline.place([Slot(MON, "bob")], older=True)
    assert oldest.same_day_as_top and not oldest.same_run_as_top
    bottom = timeline.place([Slot(TUE, "ann")])  # the bottom is still the newest message
    assert bottom.heads == [False]


def test_an_older_page_from_another_day_keeps_the_top_separator():
    timeline = Timeline()
    timeline.place([Slot(TUE, "ann")])
    assert not timeline.place([Slot(MON, "ann")], older=True).same_day_as_top


def test_today_and_yesterday_are_named_the_week_by_weekday_and_other_days_are_dates():
    assert relative_day(TUE, TUE) == TODAY
    assert relative_day(MON, TUE) == YESTERDAY
    assert relative_day(date(2026, 2, 28), date(2026, 3, 1)) == YESTERDAY  # across a month
    assert relative_day(date(2025, 12, 31), date(2026, 1, 1)) == YESTERDAY  # across a year
    assert relative_day(date(2026, 3, 1), TUE) == THIS_WEEK
    assert relative_day(date(2026, 2, 25), TUE) == THIS_WEEK  # six days back
    assert relative_day(date(2026, 2, 24), TUE) is None  # a week back: the date says it
    assert relative_day(date(2025, 3, 3), TUE) is None  # a year ago is not "today"
    assert relative_day(date(2026, 3, 4), TUE) is None  # a clock ahead of the reader's is not "this week"

"""Care need, docs/spec/rules.md §2: G-BELRAI, G-MEDSOC, G-ZTK, G-FACILITY and ZZB-START (episodes and right).

Each table is one rule: the records of one person and the ground intervals (or episodes) it
must give. The last tests run the whole decision for the worked example of docs/spec/rules.md.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipelines.decide.grounds import g_belrai, g_facility, g_medsoc, g_ztk, zzb_start
from tests.helpers.decide import PERSON, cases, lazy, params, run, scale, screener, stay, ztk

D = dt.date
OTHER_PERSON = "00120555686"


def intervals(grounds: pl.LazyFrame) -> list[tuple]:
    """(record id, start_date, end_date) of each ground row, sorted."""
    out = grounds.collect().select(
        pl.col("evidence").str.split(":").list.get(1).alias("id"), "start_date", "end_date", "ground"
    )
    assert set(out["ground"]) <= {"G-BELRAI", "G-MEDSOC", "G-ZTK", "G-FACILITY"}
    return sorted(out.select("id", "start_date", "end_date").rows())


# --- G-BELRAI: which screener proves severe care need ---------------------------------------------

# fmt: off
BELRAI_SCORES = [
    # name                                                         service_kind             recognised  total  adl   iadl   ground
    ("G-BELRAI total score exactly 13 proves it",                  "GEZINSZORG",            True,       13.0,  0.0,  0.0,   True),
    ("G-BELRAI total score 12.9 with low ADL+IADL does not",       "GEZINSZORG",            True,       12.9,  2.5,  2.9,   False),
    ("G-BELRAI ADL+IADL exactly 5.5 proves it with total 12.9",    "GEZINSZORG",            True,       12.9,  2.5,  3.0,   True),
    ("G-BELRAI ADL+IADL 5.49 just below does not",                 "GEZINSZORG",            True,       12.9,  2.5,  2.99,  False),
    ("G-BELRAI aanvullende thuiszorg counts like gezinszorg",      "AANVULLENDE_THUISZORG", True,       13.0,  0.0,  0.0,   True),
    ("G-BELRAI another service kind is no ground",                 "OTHER",                 True,       20.0,  4.0,  4.0,   False),
    ("G-BELRAI an unrecognised service is no ground",              "GEZINSZORG",            False,      20.0,  4.0,  4.0,   False),
    ("G-BELRAI all scores zero is no ground",                      "GEZINSZORG",            True,       0.0,   0.0,  0.0,   False),
    ("G-BELRAI all scores null is no ground (never null)",         "GEZINSZORG",            True,       None,  None, None,  False),
    ("G-BELRAI null total but ADL+IADL 6 proves it",               "GEZINSZORG",            True,       None,  3.0,  3.0,   True),
    ("G-BELRAI total 13 proves it even with IADL null",            "GEZINSZORG",            True,       13.0,  3.0,  None,  True),
    ("G-BELRAI null service kind is no ground",                    None,                    True,       20.0,  4.0,  4.0,   False),
]
# fmt: on


@pytest.mark.parametrize("kind, recognised, total, adl, iadl, expected", cases(BELRAI_SCORES))
def test_g_belrai_scores(kind, recognised, total, adl, iadl, expected):
    """G-BELRAI: recognised GEZINSZORG or AANVULLENDE_THUISZORG, total >= 13 or ADL+IADL >= 5.5."""
    rows = [
        screener(service_kind=kind, service_recognised=recognised, total_score=total, adl_score=adl, iadl_score=iadl)
    ]
    got = intervals(g_belrai(lazy("belrai_screeners", rows), params()))
    assert got == ([("BR1", D(2026, 1, 15), None)] if expected else [])


LOW = dict(total_score=5.0, adl_score=1.0, iadl_score=1.0)

# fmt: off
BELRAI_INTERVALS = [
    # name                                                                   screeners                                                                             expected (id, start, end)
    ("G-BELRAI an open screener is active from its assessment date on",     [screener("BR1", D(2025, 3, 10))],                                                     [("BR1", D(2025, 3, 10), None)]),
    ("G-BELRAI valid_until ends it",                                         [screener("BR1", D(2025, 3, 10), valid_until=D(2025, 9, 30))],                         [("BR1", D(2025, 3, 10), D(2025, 9, 30))]),
    ("G-BELRAI a newer qualifying screener ends it the day before",          [screener("BR1", D(2025, 3, 10)), screener("BR2", D(2025, 8, 1))],                     [("BR1", D(2025, 3, 10), D(2025, 7, 31)), ("BR2", D(2025, 8, 1), None)]),
    ("G-BELRAI a newer low-score screener supersedes it",                    [screener("BR1", D(2025, 3, 10)), screener("BR2", D(2025, 8, 1), **LOW)],              [("BR1", D(2025, 3, 10), D(2025, 7, 31))]),
    ("G-BELRAI a newer screener of another service kind supersedes it",      [screener("BR1", D(2025, 3, 10)), screener("BR2", D(2025, 8, 1), service_kind="OTHER")], [("BR1", D(2025, 3, 10), D(2025, 7, 31))]),
    ("G-BELRAI a newer unrecognised screener supersedes it",                 [screener("BR1", D(2025, 3, 10)), screener("BR2", D(2025, 8, 1), service_recognised=False)], [("BR1", D(2025, 3, 10), D(2025, 7, 31))]),
    ("G-BELRAI valid_until before the next screener ends it first",          [screener("BR1", D(2025, 3, 10), valid_until=D(2025, 5, 31)), screener("BR2", D(2025, 8, 1), **LOW)], [("BR1", D(2025, 3, 10), D(2025, 5, 31))]),
    ("G-BELRAI valid_until after the next screener is cut by it",            [screener("BR1", D(2025, 3, 10), valid_until=D(2025, 12, 31)), screener("BR2", D(2025, 8, 1), **LOW)], [("BR1", D(2025, 3, 10), D(2025, 7, 31))]),
    ("G-BELRAI a newer screener the next day leaves one day",                [screener("BR1", D(2025, 3, 10)), screener("BR2", D(2025, 3, 11), **LOW)],             [("BR1", D(2025, 3, 10), D(2025, 3, 10))]),
    ("G-BELRAI the order is by date, not by id",                             [screener("BR2", D(2025, 3, 10)), screener("BR1", D(2025, 8, 1), **LOW)],              [("BR2", D(2025, 3, 10), D(2025, 7, 31))]),
    ("G-BELRAI same date: the higher assessment_id supersedes (low wins)",   [screener("BR1", D(2025, 3, 10)), screener("BR2", D(2025, 3, 10), **LOW)],             []),
    ("G-BELRAI same date: the higher assessment_id supersedes (high wins)",  [screener("BR1", D(2025, 3, 10), **LOW), screener("BR2", D(2025, 3, 10))],             [("BR2", D(2025, 3, 10), None)]),
    ("G-BELRAI same date, listed in reverse: the higher id still supersedes", [screener("BR2", D(2025, 3, 10), **LOW), screener("BR1", D(2025, 3, 10))],             []),
    ("G-BELRAI same date, listed in reverse: the higher id still wins",       [screener("BR2", D(2025, 3, 10)), screener("BR1", D(2025, 3, 10), **LOW)],             [("BR2", D(2025, 3, 10), None)]),
    ("G-BELRAI another person's screener does not supersede",                [screener("BR1", D(2025, 3, 10)), screener("BR2", D(2025, 8, 1), insz=OTHER_PERSON, **LOW)], [("BR1", D(2025, 3, 10), None)]),
]
# fmt: on


@pytest.mark.parametrize("rows, expected", cases(BELRAI_INTERVALS))
def test_g_belrai_interval(rows, expected):
    """G-BELRAI: active from assessment_date until the earliest of valid_until and the day before the
    person's next screener of any kind and score (ties on the same date broken by assessment_id)."""
    assert intervals(g_belrai(lazy("belrai_screeners", rows), params())) == expected


# --- G-MEDSOC and G-ZTK: scale decisions -----------------------------------------------------------

# fmt: off
SCALE_SCORES = [
    # name                                                    kind    score  pillars              medsoc  ztk
    ("G-MEDSOC IT score exactly 15 proves it",               "IT",   15.0,  (None, None, None),  True,   False),
    ("G-MEDSOC IT score 14.9 does not",                      "IT",   14.9,  (None, None, None),  False,  False),
    ("G-MEDSOC THAB score 15 proves it",                     "THAB", 15.0,  (None, None, None),  True,   False),
    ("G-MEDSOC THAB score 14.9 does not",                    "THAB", 14.9,  (None, None, None),  False,  False),
    ("G-MEDSOC ZBO score 15 proves it",                      "ZBO",  15.0,  (None, None, None),  True,   False),
    ("G-MEDSOC ZBO score 14.9 does not",                     "ZBO",  14.9,  (None, None, None),  False,  False),
    ("G-MEDSOC a null score is no ground",                   "IT",   None,  (None, None, None),  False,  False),
    ("G-MEDSOC a ZTK score of 20 does not count as G-MEDSOC", "ZTK",  20.0,  (1.0, 1.0, 1.0),     False,  False),
    ("G-ZTK pillars adding up to exactly 18 prove it",       "ZTK",  None,  (6.0, 6.0, 6.0),     False,  True),
    ("G-ZTK pillars adding up to 17.9 do not",               "ZTK",  None,  (6.0, 6.0, 5.9),     False,  False),
    ("G-ZTK one pillar alone at 18 proves it",               "ZTK",  None,  (18.0, 0.0, 0.0),    False,  True),
    ("G-ZTK a null pillar is no ground",                     "ZTK",  None,  (9.0, 9.0, None),    False,  False),
    ("G-ZTK pillars of an IT decision do not count",         "IT",   1.0,   (9.0, 9.0, 9.0),     False,  False),
]
# fmt: on


@pytest.mark.parametrize("kind, score, pillars, medsoc, is_ztk", cases(SCALE_SCORES))
def test_g_medsoc_and_g_ztk_scores(kind, score, pillars, medsoc, is_ztk):
    """G-MEDSOC: IT, THAB or ZBO with score >= 15. G-ZTK: a ZTK whose three pillars add up to >= 18."""
    p1, p2, p3 = pillars
    rows = [scale("MS1", kind, D(2025, 2, 1), score=score, pillar_1=p1, pillar_2=p2, pillar_3=p3)]
    frame = lazy("medsoc_scales", rows)
    expected = [("MS1", D(2025, 2, 1), None)]
    assert intervals(g_medsoc(frame, params())) == (expected if medsoc else [])
    assert intervals(g_ztk(frame, params())) == (expected if is_ztk else [])


LOW_SCORE = dict(score=3.0)

# fmt: off
MEDSOC_INTERVALS = [
    # name                                                                        decisions                                                                                              expected (id, start, end)
    ("G-MEDSOC an open decision is active from valid_from on",                   [scale("MS1", "IT", D(2025, 2, 1))],                                                                    [("MS1", D(2025, 2, 1), None)]),
    ("G-MEDSOC valid_until ends it",                                              [scale("MS1", "IT", D(2025, 2, 1), valid_until=D(2025, 10, 31))],                                       [("MS1", D(2025, 2, 1), D(2025, 10, 31))]),
    ("G-MEDSOC the next IT decision ends an IT decision the day before",         [scale("MS1", "IT", D(2025, 2, 1)), scale("MS2", "IT", D(2025, 9, 1), **LOW_SCORE)],                    [("MS1", D(2025, 2, 1), D(2025, 8, 31))]),
    ("G-MEDSOC the next THAB decision ends a THAB decision",                     [scale("MS1", "THAB", D(2025, 2, 1)), scale("MS2", "THAB", D(2025, 9, 1))],                             [("MS1", D(2025, 2, 1), D(2025, 8, 31)), ("MS2", D(2025, 9, 1), None)]),
    ("G-MEDSOC the next ZBO decision ends a ZBO decision",                       [scale("MS1", "ZBO", D(2025, 2, 1)), scale("MS2", "ZBO", D(2025, 9, 1), **LOW_SCORE)],                  [("MS1", D(2025, 2, 1), D(2025, 8, 31))]),
    ("G-MEDSOC a next decision of another kind does not end it",                 [scale("MS1", "IT", D(2025, 2, 1)), scale("MS2", "THAB", D(2025, 9, 1), **LOW_SCORE)],                  [("MS1", D(2025, 2, 1), None)]),
    ("G-MEDSOC a next ZTK decision does not end it",                             [scale("MS1", "IT", D(2025, 2, 1)), ztk("MS2", (1.0, 1.0, 1.0), D(2025, 9, 1))],                         [("MS1", D(2025, 2, 1), None)]),
    ("G-MEDSOC valid_until before the next decision ends it first",              [scale("MS1", "IT", D(2025, 2, 1), valid_until=D(2025, 4, 30)), scale("MS2", "IT", D(2025, 9, 1), **LOW_SCORE)], [("MS1", D(2025, 2, 1), D(2025, 4, 30))]),
    ("G-MEDSOC order by valid_from before decision_date",                        [scale("MS1", "IT", D(2025, 6, 1), decision_date=D(2025, 1, 1)), scale("MS2", "IT", D(2025, 3, 1), decision_date=D(2025, 5, 1))], [("MS1", D(2025, 6, 1), None), ("MS2", D(2025, 3, 1), D(2025, 5, 31))]),
    ("G-MEDSOC same valid_from: the later decision_date supersedes",             [scale("MS1", "IT", D(2025, 2, 1), decision_date=D(2025, 3, 1)), scale("MS2", "IT", D(2025, 2, 1), decision_date=D(2025, 2, 15))], [("MS1", D(2025, 2, 1), None)]),
    ("G-MEDSOC same valid_from and decision_date: the higher decision_id wins",  [scale("MS2", "IT", D(2025, 2, 1), **LOW_SCORE), scale("MS1", "IT", D(2025, 2, 1))],                    []),
    ("G-MEDSOC same valid_from and decision_date: higher id qualifying wins",    [scale("MS1", "IT", D(2025, 2, 1), **LOW_SCORE), scale("MS2", "IT", D(2025, 2, 1))],                    [("MS2", D(2025, 2, 1), None)]),
    ("G-MEDSOC another person's decision does not end it",                       [scale("MS1", "IT", D(2025, 2, 1)), scale("MS2", "IT", D(2025, 9, 1), insz=OTHER_PERSON, **LOW_SCORE)], [("MS1", D(2025, 2, 1), None)]),
]
ZTK_INTERVALS = [
    ("G-ZTK the next ZTK decision ends it the day before",                       [ztk("ZT1", valid_from=D(2025, 2, 1)), ztk("ZT2", (1.0, 1.0, 1.0), D(2025, 9, 1))],                    [("ZT1", D(2025, 2, 1), D(2025, 8, 31))]),
    ("G-ZTK a next IT decision does not end it",                                 [ztk("ZT1", valid_from=D(2025, 2, 1)), scale("MS2", "IT", D(2025, 9, 1), **LOW_SCORE)],                 [("ZT1", D(2025, 2, 1), None)]),
    ("G-ZTK valid_until ends it",                                                 [ztk("ZT1", valid_from=D(2025, 2, 1), valid_until=D(2025, 6, 30))],                                     [("ZT1", D(2025, 2, 1), D(2025, 6, 30))]),
]
# fmt: on


@pytest.mark.parametrize("rows, expected", cases(MEDSOC_INTERVALS))
def test_g_medsoc_interval(rows, expected):
    """G-MEDSOC: active from valid_from until the earliest of valid_until and the day before the
    valid_from of the next decision of the same person and scale kind (order: valid_from,
    decision_date, decision_id)."""
    assert intervals(g_medsoc(lazy("medsoc_scales", rows), params())) == expected


@pytest.mark.parametrize("rows, expected", cases(ZTK_INTERVALS))
def test_g_ztk_interval(rows, expected):
    """G-ZTK: same interval rule as G-MEDSOC, per scale kind ZTK."""
    assert intervals(g_ztk(lazy("medsoc_scales", rows), params())) == expected


# --- G-FACILITY ------------------------------------------------------------------------------------

# fmt: off
FACILITY = [
    # name                                                         kind             region  recognised  special              ground
    ("G-FACILITY a recognised WZC in Flanders is a ground",       "WZC",           "VL",   True,       None,                True),
    ("G-FACILITY a recognised PVT in Flanders is a ground",       "PVT",           "VL",   True,       None,                True),
    ("G-FACILITY a WZC in Brussels is no ground",                 "WZC",           "BXL",  True,       None,                False),
    ("G-FACILITY a PVT in Wallonia is no ground",                 "PVT",           "WAL",  True,       None,                False),
    ("G-FACILITY a WZC abroad is no ground",                      "WZC",           "ABROAD", True,     None,                False),
    ("G-FACILITY a WZC not recognised by Flanders is no ground",  "WZC",           "VL",   False,      None,                False),
    ("G-FACILITY a special category COMA_NAH is no ground",       "WZC",           "VL",   True,       "COMA_NAH",          False),
    ("G-FACILITY a special category MS_ALS_HUNTINGTON is none",   "PVT",           "VL",   True,       "MS_ALS_HUNTINGTON", False),
    ("G-FACILITY a special category ACCIDENT_INSURER is none",    "WZC",           "VL",   True,       "ACCIDENT_INSURER",  False),
    ("G-FACILITY a service flat counts as living at home",        "SERVICEFLAT",   "VL",   True,       None,                False),
    ("G-FACILITY short stay counts as living at home",            "KORTVERBLIJF",  "VL",   True,       None,                False),
    ("G-FACILITY day care counts as living at home",              "DAGVERZORGING", "VL",   True,       None,                False),
    ("G-FACILITY recognition unknown (null) is no ground (never null)", "WZC",     "VL",   None,       None,                False),
]
# fmt: on


@pytest.mark.parametrize("kind, region, recognised, special, expected", cases(FACILITY))
def test_g_facility(kind, region, recognised, special, expected):
    """G-FACILITY: a WZC or PVT in VL recognised by Flanders without special_category, from admission
    to discharge."""
    rows = [
        stay(
            "FS1",
            D(2025, 3, 1),
            D(2026, 2, 14),
            facility_kind=kind,
            facility_region=region,
            recognised_by_flanders=recognised,
            special_category=special,
        )
    ]
    got = intervals(g_facility(lazy("facility_stays", rows)))
    assert got == ([("FS1", D(2025, 3, 1), D(2026, 2, 14))] if expected else [])


# --- ZZB-START: episodes and the right they give ---------------------------------------------------


def grounds_frame(spans: list[tuple]) -> pl.LazyFrame:
    return pl.LazyFrame(
        [(PERSON, "G-MEDSOC", f"medsoc_scales:G{i}", s, e) for i, (s, e) in enumerate(spans)],
        schema={
            "insz": pl.String,
            "ground": pl.String,
            "evidence": pl.String,
            "start_date": pl.Date,
            "end_date": pl.Date,
        },
        orient="row",
    )


# fmt: off
EPISODES = [
    # name                                                                ground intervals (start, end)                                                     episodes (start, end, right_from, right_until)
    ("ZZB-START docs/spec/rules.md example: screener 2026-01-15 gives 2026-05-01",  [(D(2026, 1, 15), None)],                                                          [(D(2026, 1, 15), None, D(2026, 5, 1), None)]),
    ("ZZB-START a start on the first of a month: fourth month after",     [(D(2026, 1, 1), None)],                                                           [(D(2026, 1, 1), None, D(2026, 5, 1), None)]),
    ("ZZB-START a start on the last day of a month: fourth month after",  [(D(2025, 10, 31), None)],                                                         [(D(2025, 10, 31), None, D(2026, 2, 1), None)]),
    ("ZZB-START the right ends with the month containing the end",        [(D(2025, 1, 15), D(2025, 11, 3))],                                                [(D(2025, 1, 15), D(2025, 11, 3), D(2025, 5, 1), D(2025, 11, 1))]),
    ("ZZB-START an end on the last day of a month ends with that month",  [(D(2025, 1, 15), D(2025, 11, 30))],                                               [(D(2025, 1, 15), D(2025, 11, 30), D(2025, 5, 1), D(2025, 11, 1))]),
    ("ZZB-START overlapping intervals make one episode",                  [(D(2025, 1, 10), D(2025, 6, 30)), (D(2025, 3, 1), D(2025, 9, 15))],              [(D(2025, 1, 10), D(2025, 9, 15), D(2025, 5, 1), D(2025, 9, 1))]),
    ("ZZB-START the next starting the day after the end: one episode",    [(D(2025, 1, 10), D(2025, 6, 30)), (D(2025, 7, 1), None)],                         [(D(2025, 1, 10), None, D(2025, 5, 1), None)]),
    ("ZZB-START the next starting two days after the end: new episode",   [(D(2025, 1, 10), D(2025, 6, 30)), (D(2025, 7, 2), None)],                         [(D(2025, 1, 10), D(2025, 6, 30), D(2025, 5, 1), D(2025, 6, 1)), (D(2025, 7, 2), None, D(2025, 11, 1), None)]),
    ("ZZB-START a short interval inside a long one does not split it",    [(D(2025, 1, 10), D(2025, 12, 31)), (D(2025, 2, 1), D(2025, 3, 1)), (D(2026, 1, 1), None)], [(D(2025, 1, 10), None, D(2025, 5, 1), None)]),
    ("ZZB-START an open interval absorbs every later one",                [(D(2024, 1, 10), None), (D(2025, 3, 1), D(2025, 4, 1))],                          [(D(2024, 1, 10), None, D(2024, 5, 1), None)]),
    ("ZZB-START an episode shorter than the delay still has its rows",    [(D(2025, 1, 10), D(2025, 2, 20))],                                                [(D(2025, 1, 10), D(2025, 2, 20), D(2025, 5, 1), D(2025, 2, 1))]),
    ("ZZB-START unsorted intervals are merged in date order",             [(D(2025, 7, 1), None), (D(2025, 1, 10), D(2025, 6, 30))],                         [(D(2025, 1, 10), None, D(2025, 5, 1), None)]),
]
# fmt: on


@pytest.mark.parametrize("spans, expected", cases(EPISODES))
def test_zzb_start_episodes(spans, expected):
    """ZZB-START: intervals that overlap or touch (next start at most one day after the previous end)
    form one episode [es, ee]; its right runs from first(month(es) + 4) through the month of ee."""
    got = zzb_start(grounds_frame(spans), params()).collect()
    rows = sorted(got.select("episode_start", "episode_end", "right_from", "right_until").rows())
    assert rows == expected


def test_zzb_start_episodes_are_per_person():
    """ZZB-START: another person's ground does not join or split an episode."""
    frame = pl.concat(
        [
            grounds_frame([(D(2025, 1, 10), D(2025, 6, 30))]),
            grounds_frame([(D(2025, 7, 1), None)]).with_columns(pl.lit(OTHER_PERSON).alias("insz")),
        ]
    )
    got = zzb_start(frame, params()).collect().sort("insz")
    assert got.select("insz", "episode_start", "episode_end").rows() == [
        (OTHER_PERSON, D(2025, 7, 1), None),
        (PERSON, D(2025, 1, 10), D(2025, 6, 30)),
    ]


# --- ZZB-START through the whole decision ----------------------------------------------------------

# fmt: off
RIGHTS = [
    # name                                                                      screeners / scales / stays                                                                                          first entitled   last entitled
    ("ZZB-START docs/spec/rules.md example: screener 2026-01-15 entitles from 2026-05", dict(belrai_screeners=[screener("BR1", D(2026, 1, 15))]),                                                            D(2026, 5, 1),   D(2026, 11, 1)),
    ("ZZB-START a screener valid until 10 March pays March, not April",       dict(belrai_screeners=[screener("BR1", D(2025, 1, 15), valid_until=D(2026, 3, 10))]),                             D(2025, 5, 1),   D(2026, 3, 1)),
    ("ZZB-START home care then a care home the next day is no new start",     dict(belrai_screeners=[screener("BR1", D(2025, 1, 15), valid_until=D(2025, 9, 30))], facility_stays=[stay("FS1", D(2025, 10, 1))]), D(2025, 5, 1), D(2026, 11, 1)),
    ("ZZB-START a change of scale on the next day is no new start",             dict(medsoc_scales=[scale("MS1", "IT", D(2025, 1, 15), valid_until=D(2025, 9, 30)), ztk("ZT1", valid_from=D(2025, 10, 1))]), D(2025, 5, 1), D(2026, 11, 1)),
]
# fmt: on


@pytest.mark.parametrize("records, first, last", cases(RIGHTS))
def test_zzb_start_in_decisions(records, first, last):
    """ZZB-START: entitled months run from the right's first month through the month of the episode end,
    without a gap when one ground follows another."""
    entitled = run(**records).entitled_months("ZZB")
    assert entitled[0] == first
    assert entitled[-1] == last
    assert len(entitled) == (last.year - first.year) * 12 + last.month - first.month + 1


def test_zzb_start_a_gap_of_two_days_restarts_the_delay():
    """ZZB-START: a ground starting two days after the previous one ends opens a new episode, whose
    right begins only in the fourth month after its start."""
    records = [scale("MS1", "IT", D(2025, 1, 15), valid_until=D(2025, 9, 29)), ztk("ZT1", valid_from=D(2025, 10, 1))]
    entitled = run(medsoc_scales=records).entitled_months("ZZB")
    assert D(2025, 9, 1) in entitled
    assert D(2025, 10, 1) not in entitled
    assert D(2026, 1, 1) not in entitled
    assert entitled[entitled.index(D(2025, 9, 1)) + 1] == D(2026, 2, 1)

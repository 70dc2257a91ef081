"""The case_decisions feed (docs/spec/feeds.md): its row rules (R-ENUM, R-DATES, R-REQUIRED, R-REFERENCE,
R-DUPLICATE), each case a small delivery and the rule each row must break first."""

from __future__ import annotations

import datetime as dt
import shutil

import polars as pl
import pytest

from flows.reference import load_reference
from pipelines.ingest.quarantine import range_maxima
from pipelines.ingest.staging import stage_feed
from schemas.feeds import FEEDS
from tests.helpers.builders import INSZ_2000, frame
from tests.helpers.cases import case as case_row

D = dt.date
DELIVERY = D(2026, 11, 1)
RUN = D(2026, 11, 20)
REFERENCE = {"zorgkassen": ["ZK100", "ZK200"]}
MAXIMA = range_maxima(FEEDS["case_decisions"], load_reference().parameters.params_on(RUN))


def stage(rows: list[dict]):
    raw = frame("case_decisions", rows).with_columns(
        pl.lit("f.parquet").alias("source_file"), pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("row_number")
    )
    return stage_feed(raw, FEEDS["case_decisions"], DELIVERY, RUN, REFERENCE, maxima=MAXIMA)


def case(record_id: str, kind: str, **changes) -> dict:
    """A valid row of `kind` for the builder's member, ZZB."""
    base = case_row(record_id, kind)
    if kind in ("APPLICATION", "APPEAL"):
        base["received_date"] = D(2026, 3, 2)
    else:
        base["decided_date"] = D(2026, 5, 4)
    if kind in ("GRANT", "END", "APPEAL_GRANT"):
        base["first_month"] = D(2026, 4, 1)
    if kind == "APPEAL":
        base["refers_to"] = "L-2026-0001"  # a letter: not checked
    return base | changes


APP = case("A1", "APPLICATION")
APPEAL = case("P1", "APPEAL")


def rules_of(rows: list[dict]) -> dict[str, tuple[str, str] | None]:
    """record_id -> (rule, column) of its quarantine, or None when valid."""
    staged = stage(rows)
    found = {r: None for r in staged.valid["record_id"]}
    for q in staged.quarantine.iter_rows(named=True):
        found[rows[q["row_number"] - 1]["record_id"]] = (q["rule"], q["column"])
    return found


# fmt: off
ONE_ROW = [
    # name                                                  row                                                              rule / column (None: valid)
    ("an application is valid",                             APP,                                                             None),
    ("a grant of an application predating the feed",        case("G1", "GRANT"),                                             None),
    ("an open grant (last_month null) is valid",            case("G1", "GRANT", last_month=None),                            None),
    ("a grant of one month (last = first) is valid",        case("G1", "GRANT", last_month=D(2026, 4, 1)),                    None),
    ("an END is valid",                                     case("E1", "END"),                                               None),
    ("a REFUSAL is valid",                                  case("R1", "REFUSAL"),                                           None),
    ("an APPEAL naming a letter is valid",                  APPEAL,                                                          None),
    ("a BOB application is valid",                          case("A1", "APPLICATION", budget="BOB"),                         None),
    ("R-ENUM unknown kind",                                 APP | {"kind": "APPLY"},                         ("R-ENUM", "kind")),
    ("R-ENUM kinds are case-sensitive",                     case("G1", "GRANT") | {"kind": "grant"},                               ("R-ENUM", "kind")),
    ("R-ENUM unknown budget",                               case("A1", "APPLICATION", budget="ZTK"),                         ("R-ENUM", "budget")),
    ("R-NULL budget",                                       case("A1", "APPLICATION", budget=None),                          ("R-NULL", "budget")),
    ("R-DATES first_month not on day 1",                    case("G1", "GRANT", first_month=D(2026, 4, 2)),                   ("R-DATES", "first_month")),
    ("R-DATES last_month not on day 1",                     case("G1", "GRANT", last_month=D(2026, 6, 30)),                   ("R-DATES", "last_month")),
    ("R-DATES END's first_month not on day 1",              case("E1", "END", first_month=D(2026, 4, 15)),                    ("R-DATES", "first_month")),
    ("R-DATES last_month before first_month",               case("G1", "GRANT", last_month=D(2026, 3, 1)),                    ("R-DATES", "last_month")),
    ("R-DATES received after the delivery date",            case("A1", "APPLICATION", received_date=D(2026, 11, 2)),          ("R-DATES", "received_date")),
    ("R-DATES received on the delivery date is fine",       case("A1", "APPLICATION", received_date=DELIVERY),                None),
    ("R-DATES decided after the delivery date",             case("G1", "GRANT", decided_date=D(2026, 11, 2)),                 ("R-DATES", "decided_date")),
    ("R-DATES a granted month after the delivery is fine",  case("G1", "GRANT", first_month=D(2027, 1, 1)),                   None),
    ("R-REQUIRED received_date of an APPLICATION",          case("A1", "APPLICATION", received_date=None),                    ("R-REQUIRED", "received_date")),
    ("R-REQUIRED received_date of an APPEAL",               case("P1", "APPEAL", received_date=None),                         ("R-REQUIRED", "received_date")),
    ("R-REQUIRED decided_date of a GRANT",                  case("G1", "GRANT", decided_date=None),                           ("R-REQUIRED", "decided_date")),
    ("R-REQUIRED decided_date of a REFUSAL",                case("R1", "REFUSAL", decided_date=None),                         ("R-REQUIRED", "decided_date")),
    ("R-REQUIRED decided_date of an APPEAL_REFUSAL",        case("X1", "APPEAL_REFUSAL", decided_date=None, refers_to="P1"),  ("R-REQUIRED", "decided_date")),
    ("R-REQUIRED first_month of a GRANT",                   case("G1", "GRANT", first_month=None),                            ("R-REQUIRED", "first_month")),
    ("R-REQUIRED first_month of an END",                    case("E1", "END", first_month=None),                              ("R-REQUIRED", "first_month")),
    ("R-REQUIRED first_month of an APPEAL_GRANT",           case("X1", "APPEAL_GRANT", first_month=None, refers_to="P1"),     ("R-REQUIRED", "first_month")),
    ("R-REQUIRED refers_to of an APPEAL",                   case("P1", "APPEAL", refers_to=None),                             ("R-REQUIRED", "refers_to")),
    ("R-REQUIRED refers_to of an APPEAL_GRANT",             case("X1", "APPEAL_GRANT"),                                       ("R-REQUIRED", "refers_to")),
    ("R-REQUIRED refers_to of an APPEAL_REFUSAL",           case("X1", "APPEAL_REFUSAL"),                                     ("R-REQUIRED", "refers_to")),
    ("a REFUSAL needs no first_month",                      case("R1", "REFUSAL", first_month=None),                          None),
]
# fmt: on


@pytest.mark.parametrize("name, row, expected", ONE_ROW, ids=[c[0] for c in ONE_ROW])
def test_case_row_rule(name, row, expected):
    assert rules_of([row])[row["record_id"]] == expected


# fmt: off
REFERENCES = [
    # name                                                  rows                                                                        expected per record_id
    ("R-REFERENCE a grant of its application is valid",     [APP, case("G1", "GRANT", refers_to="A1")],                                 {"A1": None, "G1": None}),
    ("R-REFERENCE a refusal of its application is valid",   [APP, case("R1", "REFUSAL", refers_to="A1")],                               {"A1": None, "R1": None}),
    ("R-REFERENCE an appeal outcome of its appeal is valid", [APPEAL, case("X1", "APPEAL_GRANT", refers_to="P1")],                      {"P1": None, "X1": None}),
    ("R-REFERENCE a missing application",                   [case("G1", "GRANT", refers_to="A9")],                                      {"G1": ("R-REFERENCE", "refers_to")}),
    ("R-REFERENCE a missing appeal",                        [case("X1", "APPEAL_REFUSAL", refers_to="P9")],                             {"X1": ("R-REFERENCE", "refers_to")}),
    ("R-REFERENCE a grant naming an appeal (wrong kind)",   [APPEAL, case("G1", "GRANT", refers_to="P1")],                              {"P1": None, "G1": ("R-REFERENCE", "refers_to")}),
    ("R-REFERENCE an appeal outcome naming an application", [APP, case("X1", "APPEAL_GRANT", refers_to="A1")],                          {"A1": None, "X1": ("R-REFERENCE", "refers_to")}),
    ("R-REFERENCE a grant naming another grant",            [case("G0", "GRANT"), case("G1", "GRANT", refers_to="G0")],                 {"G0": None, "G1": ("R-REFERENCE", "refers_to")}),
    ("R-REFERENCE the application of another insz",         [APP | {"insz": INSZ_2000}, case("G1", "GRANT", refers_to="A1")],          {"A1": None, "G1": ("R-REFERENCE", "refers_to")}),
    ("R-REFERENCE the application of the other budget",     [APP | {"budget": "BOB"}, case("G1", "GRANT", refers_to="A1")],            {"A1": None, "G1": ("R-REFERENCE", "refers_to")}),
    ("R-REFERENCE an application quarantined itself",       [APP | {"received_date": None}, case("G1", "GRANT", refers_to="A1")],      {"A1": ("R-REQUIRED", "received_date"), "G1": ("R-REFERENCE", "refers_to")}),
    ("R-REFERENCE an application whose record_id repeats",  [APP, APP | {"insz": INSZ_2000}, case("G1", "GRANT", refers_to="A1")],     {"A1": ("R-DUPLICATE", "record_id"), "G1": ("R-REFERENCE", "refers_to")}),
    ("R-REFERENCE a grant and a refusal of one application", [APP, case("G1", "GRANT", refers_to="A1"), case("R1", "REFUSAL", refers_to="A1")],
                                                            {"A1": None, "G1": ("R-REFERENCE", "refers_to"), "R1": ("R-REFERENCE", "refers_to")}),
    ("R-REFERENCE two grants of one application",           [APP, case("G1", "GRANT", refers_to="A1"), case("G2", "GRANT", refers_to="A1")],
                                                            {"A1": None, "G1": ("R-REFERENCE", "refers_to"), "G2": ("R-REFERENCE", "refers_to")}),
    ("R-REFERENCE two outcomes of one appeal",              [APPEAL, case("X1", "APPEAL_GRANT", refers_to="P1"), case("X2", "APPEAL_REFUSAL", refers_to="P1")],
                                                            {"P1": None, "X1": ("R-REFERENCE", "refers_to"), "X2": ("R-REFERENCE", "refers_to")}),
    ("R-REFERENCE a second outcome quarantined otherwise does not count",
                                                            [APP, case("G1", "GRANT", refers_to="A1"), case("R1", "REFUSAL", refers_to="A1", decided_date=None)],
                                                            {"A1": None, "G1": None, "R1": ("R-REQUIRED", "decided_date")}),
    ("R-REFERENCE an APPEAL's refers_to is not checked",    [case("P1", "APPEAL", refers_to="G9")],                                     {"P1": None}),
    ("R-REFERENCE an END refers to nothing",                [case("E1", "END", refers_to="nothing")],                                   {"E1": None}),
]
# fmt: on


@pytest.mark.parametrize("name, rows, expected", REFERENCES, ids=[c[0] for c in REFERENCES])
def test_r_reference(name, rows, expected):
    assert rules_of(rows) == expected


def test_r_reference_comes_after_the_other_rules_of_a_row():
    """A row that breaks an earlier rule and names nothing is quarantined with the earlier rule first."""
    staged = stage([case("G1", "GRANT", refers_to="A9", first_month=D(2026, 4, 2))])
    row = staged.quarantine.row(0, named=True)
    assert (row["rule"], row["rules"]) == ("R-DATES", ["R-DATES", "R-REFERENCE"])


def test_r_duplicate_on_record_id_quarantines_every_row():
    staged = stage([APP, case("A1", "APPLICATION", received_date=D(2026, 4, 1)), case("A2", "APPLICATION")])
    assert staged.quarantine["rule"].to_list() == ["R-DUPLICATE", "R-DUPLICATE"]
    assert staged.valid["record_id"].to_list() == ["A2"]


def test_valid_rows_meet_the_pandera_model():
    rows = [APP, case("G1", "GRANT", refers_to="A1"), APPEAL, case("X1", "APPEAL_GRANT", refers_to="P1")]
    staged = stage(rows)
    assert staged.valid.height == 4
    FEEDS["case_decisions"].model.validate(staged.valid)


def test_a_missing_case_decisions_feed_stops_the_run_naming_it(tmp_path):
    """case_decisions is a required feed: a landing without it is an error that names it."""
    from flows.io.landing import FeedError
    from tests.helpers.builders import ingest_at, write_landing

    landing = write_landing(tmp_path / "landing")
    shutil.rmtree(landing / "case_decisions")
    with pytest.raises(FeedError, match=r"feed case_decisions"):
        ingest_at(landing, RUN)


def test_the_whole_delivery_is_one_frame_for_r_reference(tmp_path):
    """An application in one file and its grant in another: R-REFERENCE sees the whole delivery."""
    from tests.helpers.builders import ingest_at, write_delivery, write_landing

    landing = write_landing(tmp_path / "landing")
    write_delivery(landing, "case_decisions", DELIVERY, [APP], name="part-00000.parquet")
    write_delivery(
        landing, "case_decisions", DELIVERY, [case("G1", "GRANT", refers_to="A1")], name="part-00001.parquet"
    )
    write_delivery(
        landing, "case_decisions", DELIVERY, [case("G2", "GRANT", refers_to="A8")], name="part-00002.parquet"
    )
    got = ingest_at(landing, RUN)
    staged = got.feeds["case_decisions"]
    assert staged.valid["record_id"].to_list() == ["A1", "G1"]
    q = staged.quarantine.row(0, named=True)
    assert (q["rule"], q["source_file"], q["row_number"]) == (
        "R-REFERENCE",
        "case_decisions/delivery_date=2026-11-01/part-00002.parquet",
        1,
    )
    assert got.counts["case_decisions"]["quarantined_by_rule"] == {"R-REFERENCE": 1}

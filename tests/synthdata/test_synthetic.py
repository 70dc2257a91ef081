"""Tests of the synthetic landing-zone generator (synthdata/synthetic.py, synthdata/landing.py).

The quarantine rules are re-expressed here as plain Polars filters (from docs/spec/feeds.md and
`schemas.feeds.FEEDS`), independently of the generator: every deliberately broken row must
break its rule, and no other row may break any rule.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from stdnum import iban as stdnum_iban

from pipelines.ingest.insz import r_id_valid
from schemas.feeds import (
    AFFILIATION_BASES,
    BUDGETS,
    CASE_KINDS,
    FACILITY_KINDS,
    FEEDS,
    REGIONS,
    SCALE_KINDS,
    SERVICE_KINDS,
    SPECIAL_CATEGORIES,
    SUPPORT_KINDS,
)
from synthdata.landing import write_landing, zorgkas_codes
from synthdata.synthetic import (
    IBAN_VALID_KINDS,
    delivery_dates,
    generate,
    iban_kinds,
    iter_landing,
)

REFERENCE = Path(__file__).resolve().parents[2] / "data" / "reference"
CODES = zorgkas_codes(REFERENCE)
AS_OF = dt.date(2026, 11, 1)
SMALL = 2_000

ENUMS = {
    "members": {"domicile_region": REGIONS, "affiliation_basis": AFFILIATION_BASES, "zorgkas": CODES},
    "residence_periods": {"region": REGIONS},
    "belrai_screeners": {"service_kind": SERVICE_KINDS},
    "medsoc_scales": {"scale_kind": SCALE_KINDS},
    "facility_stays": {
        "facility_kind": FACILITY_KINDS,
        "facility_region": REGIONS,
        "special_category": SPECIAL_CATEGORIES,
    },
    "vaph_support": {"support_kind": SUPPORT_KINDS},
    "case_decisions": {"budget": BUDGETS, "kind": CASE_KINDS},
}
NON_NEGATIVE = ["amount_due", "amount_paid", "total_score", "adl_score", "iadl_score", "score",
                "pillar_1", "pillar_2", "pillar_3", "absence_days"]  # fmt: skip
MIN_DATE = dt.date(1900, 1, 1)


def applicable_rules(feed: str) -> set[str]:
    c = FEEDS[feed]
    rules = {"R-ID", "R-NULL", "R-DATES"}
    if feed in ENUMS:
        rules.add("R-ENUM")
    if set(c.columns) & set(NON_NEGATIVE):
        rules.add("R-RANGE")
    if c.required:
        rules.add("R-REQUIRED")
    if c.key:
        rules.add("R-DUPLICATE")
    if c.references:
        rules.add("R-REFERENCE")
    return rules


def rule_flags(feed: str, d: dt.date) -> dict[str, pl.Expr]:
    """The row rules of docs/spec/feeds.md as boolean expressions (True: the row breaks the rule)."""
    c = FEEDS[feed]
    cols = c.columns
    false = pl.lit(False)
    flags = {"R-ID": ~r_id_valid(pl.col("insz"), d.year).fill_null(True)}
    flags["R-NULL"] = pl.any_horizontal([pl.col(n).is_null() for n in cols if n not in c.nullable])
    flags["R-ENUM"] = pl.any_horizontal(
        [false] + [pl.col(n).is_not_null() & ~pl.col(n).is_in(v) for n, v in ENUMS.get(feed, {}).items()]
    )
    dates = [n for n, t in cols.items() if t == pl.Date]
    flags["R-DATES"] = pl.any_horizontal(
        [false]
        + [(pl.col(e) < pl.col(s)).fill_null(False) for s, e in c.end_after_start]
        + [(pl.col(n) < MIN_DATE).fill_null(False) for n in dates]
        + [(pl.col(n) > d).fill_null(False) for n in c.past_events]
        + [(pl.col(n).dt.day() != 1).fill_null(False) for n in c.month_starts]
    )
    flags["R-RANGE"] = pl.any_horizontal(
        [false]
        + [(pl.col(n) < 0).fill_null(False) for n in NON_NEGATIVE if n in cols]
        + ([(pl.col("absence_days") > 366).fill_null(False)] if "absence_days" in cols else [])
    )
    required = [false]
    for r in c.required:
        if r.together:
            nulls = [pl.col(n).is_null() for n in r.columns]
            required.append(pl.any_horizontal(nulls) & ~pl.all_horizontal(nulls))
        else:
            required.append(
                pl.col(r.kind_column).is_in(r.kinds).fill_null(False)
                & pl.any_horizontal([pl.col(n).is_null() for n in r.columns])
            )
    flags["R-REQUIRED"] = pl.any_horizontal(required)
    flags["R-DUPLICATE"] = pl.struct(list(c.key)).is_duplicated() if c.key else false
    flags["R-REFERENCE"] = pl.col("_r_reference") if c.references else false
    return flags


def with_reference_flag(feed: str, frame: pl.DataFrame, d: dt.date) -> pl.DataFrame:
    """`_r_reference` (docs/spec/feeds.md R-REFERENCE): a decision whose refers_to names no row of the kind it must
    name, of the same insz and budget, that passes every other rule; or a second outcome of the same row."""
    c = FEEDS[feed]
    if not c.references:
        return frame
    others = [e for r, e in rule_flags(feed, d).items() if r != "R-REFERENCE"]
    rows = frame.with_row_index("_i").with_columns(_passes=~pl.any_horizontal(others))
    target = rows.filter(pl.col("_passes")).select(
        pl.col("record_id").alias("refers_to"), "insz", "budget", pl.col("kind").alias("_target")
    )
    referring = rows.filter(pl.col("kind").is_in(list(c.references)) & pl.col("refers_to").is_not_null())
    referring = referring.with_columns(_target=pl.col("kind").replace_strict(c.references))
    found = referring.join(
        target.with_columns(_found=pl.lit(True)), on=["refers_to", "insz", "budget", "_target"], how="left"
    )
    found = found.with_columns(pl.col("_found").fill_null(False))
    twice = (pl.col("_found") & pl.col("_passes")).sum().over("refers_to", "_target") > 1
    broken = found.filter(~pl.col("_found") | (pl.col("_found") & pl.col("_passes") & twice))["_i"]
    return frame.with_columns(_r_reference=pl.int_range(pl.len()).is_in(broken.implode()))


@pytest.fixture(scope="module")
def landing() -> list[tuple[str, dt.date, pl.DataFrame]]:
    return list(generate(SMALL, 7, AS_OF, CODES, labels=True))


@pytest.fixture(scope="module")
def landing_20k_labelled() -> list[tuple[str, dt.date, pl.DataFrame]]:
    return list(generate(20_000, 11, AS_OF, CODES, labels=True))


@pytest.fixture(scope="module")
def landing_20k(landing_20k_labelled) -> dict[tuple[str, dt.date], pl.DataFrame]:
    """The good rows only (the deliberately broken rows are tested elsewhere)."""
    return {(f, d): x.filter(pl.col("_bad").is_null()).drop("_bad") for f, d, x in landing_20k_labelled}


def by_key(items) -> dict[tuple[str, dt.date], pl.DataFrame]:
    return {(f, d): x for f, d, x in items}


def test_generate_is_deterministic_and_seeded():
    a = by_key(iter_landing(SMALL, 3, AS_OF, CODES))
    b = by_key(iter_landing(SMALL, 3, AS_OF, CODES))
    c = by_key(iter_landing(SMALL, 4, AS_OF, CODES))
    assert a.keys() == b.keys() == c.keys()
    for k in a:
        assert a[k].equals(b[k]), k
        assert not a[k].equals(c[k]), k


def test_generate_one_feed_does_not_depend_on_the_others():
    alone = by_key(generate(SMALL, 3, AS_OF, CODES, feeds=("vaph_support",)))
    full = by_key(iter_landing(SMALL, 3, AS_OF, CODES))
    for k, frame in alone.items():
        assert frame.equals(full[k])


def test_generate_exact_schema_and_two_deliveries(landing):
    seen: dict[str, list[tuple[dt.date, int]]] = {}
    for feed, d, frame in landing:
        assert frame.drop("_bad").schema == pl.Schema(FEEDS[feed].columns), feed
        seen.setdefault(feed, []).append((d, frame.height))
    assert list(seen) == list(FEEDS)
    d1, d2 = delivery_dates(AS_OF)
    assert (d1, d2) == (dt.date(2026, 10, 1), AS_OF)
    for feed, rows in seen.items():
        assert [d for d, _ in rows] == [d1, d2], feed
        assert rows[1][1] >= 0.95 * rows[0][1], (feed, rows)
        assert rows[0][1] > 0


def test_delivery_dates_clamp_to_month_end():
    assert delivery_dates(dt.date(2026, 3, 31))[0] == dt.date(2026, 2, 28)
    assert delivery_dates(dt.date(2026, 1, 15))[0] == dt.date(2025, 12, 15)


@pytest.mark.parametrize("size", ["landing", "landing_20k_labelled"])
def test_generate_bad_rows_break_their_rule_and_only_they_break_rules(size, request):
    for feed, d, frame in request.getfixturevalue(size):
        flags = rule_flags(feed, d)
        checked = with_reference_flag(feed, frame, d).with_columns(
            _rule=pl.col("_bad").str.split(":").list.first(), **{f"_{r}": e for r, e in flags.items()}
        )
        bad = checked.filter(pl.col("_bad").is_not_null())
        for rule in flags:
            mine = bad.filter(pl.col("_rule") == rule)
            assert mine[f"_{rule}"].all(), (feed, d, rule, mine.filter(~pl.col(f"_{rule}")))
        good = checked.filter(pl.col("_bad").is_null())
        for rule in flags:
            assert not good[f"_{rule}"].any(), (feed, d, rule, good.filter(pl.col(f"_{rule}")))
        counts = dict(bad.group_by("_rule").len().iter_rows())
        for rule in applicable_rules(feed):
            assert counts.get(rule, 0) >= 3, (feed, d, rule, counts)
        assert set(counts) <= applicable_rules(feed), (feed, counts)


def test_generate_member_insz_valid_except_deliberate_r_id_rows(landing):
    for feed, d, frame in landing:
        if feed != "members":
            continue
        valid = frame.select(r_id_valid(pl.col("insz"), d.year).alias("ok"), "_bad")
        invalid = valid.filter(~pl.col("ok").fill_null(True))
        assert invalid.height >= 3
        assert invalid["_bad"].str.starts_with("R-ID").all()
        good = frame.filter(pl.col("_bad").is_null())
        assert good["insz"].is_unique().all()
        assert good["insz"].str.contains(r"^[0-9]{11}$").all()
        # national numbers and BIS numbers, born before and after 2000
        months = good["insz"].str.slice(2, 2).cast(pl.Int64)
        assert (months > 12).any() and (months <= 12).any()
        years = good["birth_date"].dt.year()
        assert (years < 2000).any() and (years >= 2000).any()
        assert years.min() >= 1925 and years.max() <= AS_OF.year


def test_generate_ibans_agree_with_stdnum():
    ibans, kinds = iban_kinds(30_000, 5)
    for value, kind in zip(ibans.to_list(), kinds.tolist(), strict=True):
        if value is None:
            continue
        assert stdnum_iban.is_valid(value) == (kind in IBAN_VALID_KINDS), (value, kind)
    countries = set(ibans.drop_nulls().str.slice(0, 2).to_list())
    assert countries == {"BE", "NL", "FR", "DE", "LU"}


def test_generate_member_ibans_mostly_valid(landing_20k):
    members = landing_20k[("members", AS_OF)]
    values = members["iban"].to_list()
    null_share = sum(v is None for v in values) / len(values)
    invalid = sum(v is not None and not stdnum_iban.is_valid(v) for v in values) / len(values)
    assert 0.01 < null_share < 0.04
    assert 0.0005 < invalid < 0.01


def test_generate_realistic_members(landing_20k):
    m1 = landing_20k[("members", delivery_dates(AS_OF)[0])]
    m2 = landing_20k[("members", AS_OF)]
    n = m2.height
    share = m2["domicile_region"].value_counts(normalize=True)
    share = dict(share.iter_rows())
    assert 0.85 < share["VL"] < 0.91 and 0.06 < share["BXL"] < 0.10
    assert share["WAL"] > 0 and share["ABROAD"] > 0
    assert set(m2["affiliation_basis"]) >= set(AFFILIATION_BASES)
    assert set(m2["zorgkas"].unique()) >= set(CODES)
    assert 0.005 < m2["death_date"].is_not_null().sum() / n < 0.02
    assert m2["eu_insured_since"].is_not_null().any()
    assert m2["affiliation_end"].is_not_null().any()
    # evolution: newcomers, deaths, moves between the deliveries
    new = m2.join(m1, on="insz", how="anti")
    assert new.height > 10
    both = m2.join(m1, on="insz", suffix="_1")
    assert (both["death_date"].is_not_null() & both["death_date_1"].is_null()).sum() > 0
    assert (both["domicile_region"] != both["domicile_region_1"]).sum() > 0
    assert m1.join(m2, on="insz", how="anti").height > 0  # vanished (W-MEMBER-MISSING)


def test_generate_residence_consistent_with_domicile(landing_20k):
    for d in delivery_dates(AS_OF):
        members = landing_20k[("members", d)]
        periods = landing_20k[("residence_periods", d)].filter(pl.col("insz").is_not_null())
        per_person = periods.group_by("insz").len()
        assert per_person["len"].max() <= 3
        current = (
            periods.filter(pl.col("end_date").is_null())
            .sort("insz", "start_date")
            .group_by("insz")
            .agg(pl.col("region").last())
        )
        joined = members.join(current, on="insz")
        assert joined.height > 0.9 * members.height
        agree = (joined["region"] == joined["domicile_region"]).mean()
        assert agree == 1.0, agree


def test_generate_care_need_data_covers_the_rules(landing_20k):
    d = AS_OF
    br = landing_20k[("belrai_screeners", d)]
    ms = landing_20k[("medsoc_scales", d)]
    fs = landing_20k[("facility_stays", d)]
    va = landing_20k[("vaph_support", d)]
    home = pl.col("service_kind").is_in(["GEZINSZORG", "AANVULLENDE_THUISZORG"]) & pl.col("service_recognised")
    by_total = br.filter(home & (pl.col("total_score") >= 13))
    by_adl = br.filter(home & (pl.col("total_score") < 13) & (pl.col("adl_score") + pl.col("iadl_score") >= 5.5))
    assert by_total.height > 0 and by_adl.height > 0
    assert br.filter(pl.col("total_score") == 12.5).height > 0
    assert br.filter(pl.col("valid_until").is_not_null()).height > 0
    assert br.group_by("insz").len()["len"].max() >= 2  # superseded screeners
    assert set(ms["scale_kind"]) >= set(SCALE_KINDS)
    assert ms.filter(pl.col("score") >= 15).height > 0 and ms.filter(pl.col("score") == 14).height > 0
    ztk = pl.col("pillar_1") + pl.col("pillar_2") + pl.col("pillar_3")
    assert ms.filter(ztk >= 18).height > 0 and ms.filter(ztk < 18).height > 0
    assert set(fs["facility_kind"]) >= set(FACILITY_KINDS)
    assert set(fs["special_category"].drop_nulls()) >= set(SPECIAL_CATEGORIES)
    assert fs["special_category"].null_count() > 0
    assert set(fs["facility_region"]) >= {"VL", "BXL", "WAL"}
    assert set(fs["recognised_by_flanders"]) == {True, False}
    assert set(va["support_kind"]) >= set(SUPPORT_KINDS)
    assert va.filter((pl.col("support_kind") == "NRTH") & (pl.col("start_date") <= dt.date(2017, 1, 1))).height > 0
    absence = va.filter(pl.col("school_year").is_not_null())["absence_days"]
    assert (absence <= 30).any() and ((absence > 30) & (absence <= 100)).any() and (absence > 100).any()
    assert absence.max() <= 366
    members = landing_20k[("members", d)]
    for feed in ("residence_periods", "premium_payments", "belrai_screeners", "vaph_support"):
        frame = landing_20k[(feed, d)]
        outsiders = frame.join(members, on="insz", how="anti").height / frame.height
        assert 0 < outsiders < 0.02, (feed, outsiders)


def test_generate_premiums(landing_20k):
    pp = landing_20k[("premium_payments", AS_OF)]
    assert set(pp["premium_year"]) == {2023, 2024, 2025, 2026}
    assert set(pp["amount_due"]) == {58.0, 62.0, 64.0, 100.0, 29.0, 31.0, 32.0, 35.0}
    assert pp.filter(pl.col("amount_due") < 40).height > 0
    unpaid = pp.filter(pl.col("amount_paid") < pl.col("amount_due"))
    assert unpaid.filter(pl.col("amount_paid") == 0).height > 0
    assert unpaid.filter(pl.col("amount_paid") > 0).height > 0
    assert pp.filter(pl.col("paid_date") > pl.col("due_date")).height > 0
    defaulters = (
        pp.filter((pl.col("amount_paid") < pl.col("amount_due")) & (pl.col("premium_year") < 2026))
        .group_by("insz")
        .len()
        .filter(pl.col("len") >= 2)
    )
    members = landing_20k[("members", AS_OF)].height
    assert 0.015 < defaulters.height / members < 0.05


def test_generate_write_landing(tmp_path):
    summary = write_landing(tmp_path, 500, 2, AS_OF, CODES, rows_per_file=400)
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert all(f.endswith(".parquet") for f in files)
    assert "premium_payments/delivery_date=2026-11-01/part-00001.parquet" in files
    for feed in FEEDS:
        for d in delivery_dates(AS_OF):
            folder = tmp_path / feed / f"delivery_date={d.isoformat()}"
            frame = pl.read_parquet(folder / "*.parquet", hive_partitioning=False)
            assert frame.schema == pl.Schema(FEEDS[feed].columns)
            assert frame.height == summary["rows"][feed][d.isoformat()]


def test_generate_good_rows_pass_the_pandera_models(landing):
    for feed, d, frame in landing:
        good = frame.filter(pl.col("_bad").is_null()).drop("_bad")
        FEEDS[feed].schema.validate(good, lazy=True)
        if feed == "members":
            assert good.filter(pl.col("affiliation_start") > d).is_empty()
            assert good["zorgkas"].is_in(CODES).all()


# --- members' optional columns: the letters' language and postal address (docs/spec/feeds.md) -----------------


def _postal_region(code: pl.Expr) -> pl.Expr:
    """The region of a Belgian postal code: Brussels 1000-1299, Wallonia 1300-1499 and 4000-7999, else Flanders."""
    n = code.cast(pl.Int32, strict=False)
    return (
        pl.when(n.is_between(1000, 1299))
        .then(pl.lit("BXL"))
        .when(n.is_between(1300, 1499) | n.is_between(4000, 7999))
        .then(pl.lit("WAL"))
        .otherwise(pl.lit("VL"))
    )


def test_members_have_a_language_and_an_address_that_fit_where_they_live(landing_20k):
    members = landing_20k[("members", AS_OF)]
    assert members["language"].is_in(["NL", "FR"]).all()
    belgian = members.filter(
        pl.col("domicile_region").is_in(["VL", "BXL", "WAL"]) & pl.col("postal_code").is_not_null()
    )
    assert (belgian["country"] == "BE").all()
    assert belgian.select((_postal_region(pl.col("postal_code")) == pl.col("domicile_region")).all()).item()
    abroad = members.filter((pl.col("domicile_region") == "ABROAD") & pl.col("country").is_not_null())
    assert not abroad["country"].is_in(["BE"]).any()
    french = members.group_by("domicile_region").agg((pl.col("language") == "FR").mean().alias("fr"))
    share = dict(french.iter_rows())
    assert 0.33 < share["BXL"] < 0.47 and 0.3 < share["WAL"] < 0.5  # about 40% where French is spoken
    assert share["VL"] < 0.03
    incomplete = pl.any_horizontal(pl.col(c).is_null() for c in ("street", "postal_code", "city")).mean()
    assert 0.01 <= members.select(incomplete).item() <= 0.02  # 1-2% without a complete address

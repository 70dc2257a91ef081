"""`vsb simulate` (docs/spec/outputs.md, Simulation): the baseline is the nightly run's decisions; a reform changes exactly
the persons it should; summary.json adds up; changes.parquet and report.html; publication and reruns."""

from __future__ import annotations

import datetime as dt
import json
import re
import stat
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from flows.cli import main
from pipelines.emit.report import personal_data
from tests.helpers.builders import valid_rows, write_landing

D = dt.date
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample" / "landing"
REFORMS = ROOT / "data" / "reforms"
AS_OF = D(2026, 11, 26)
pytestmark = pytest.mark.usefixtures("prefect_harness")


def simulate(tmp: Path, landing: Path, *reforms: Path, as_of: dt.date = AS_OF, **kw) -> dict:
    from flows.simulate import run_simulation

    return run_simulation(as_of=as_of, reforms=list(reforms), landing=landing, outbox=tmp / "out", quiet=True, **kw)


def insz(born: dt.date, counter: int) -> str:
    """A valid national number (docs/spec/rules.md §1) of a person born before 2000."""
    base = f"{born:%y%m%d}{counter:03d}"
    return base + f"{97 - int(base) % 97:02d}"


# --- the ADL+IADL threshold at 6: exactly the persons in [5.5, 6) without another ground -------------------

# fmt: off
THRESHOLD = [
    # name                                               adl   iadl  total  medsoc ground   loses the right
    ("ADL+IADL exactly 5.5, no other ground",            2.5,  3.0,  10.0,  False,          True),
    ("ADL+IADL 5.9, no other ground",                    2.9,  3.0,  10.0,  False,          True),
    ("ADL+IADL exactly 6: a right under both",           3.0,  3.0,  10.0,  False,          False),
    ("ADL+IADL 5.4: a right under neither",              2.4,  3.0,  10.0,  False,          False),
    ("ADL+IADL 5.5 and a medical-social scale of 16",    2.5,  3.0,  10.0,  True,           False),
    ("ADL+IADL 5.5 and a total score of 13",             2.5,  3.0,  13.0,  False,          False),
]
# fmt: on


def threshold_landing(landing: Path) -> dict[str, str]:
    """One person per case of THRESHOLD, each screened on 2025-01-15 (a right from 2025-05 when it holds); the
    medical-social scale, when there is one, decided on the same day (the same right on its own)."""
    rows = {feed: [] for feed in ("members", "residence_periods", "belrai_screeners", "medsoc_scales")}
    people = {}
    for i, (name, adl, iadl, total, medsoc, _) in enumerate(THRESHOLD):
        born = D(1950, 1, 1 + i)
        person = insz(born, 101 + i)
        people[name] = person
        member = valid_rows()["members"][0] | {"insz": person, "birth_date": born, "affiliation_start": D(1975, 1, 1)}
        rows["members"].append(member)
        rows["residence_periods"].append({"insz": person, "region": "VL", "start_date": born, "end_date": None})
        screener = valid_rows()["belrai_screeners"][0] | {"assessment_id": f"BR{i}", "insz": person}
        rows["belrai_screeners"].append(
            screener | {"assessment_date": D(2025, 1, 15), "adl_score": adl, "iadl_score": iadl, "total_score": total}
        )
        if medsoc:
            scale = {
                "decision_id": f"MS{i}",
                "insz": person,
                "valid_from": D(2025, 1, 15),
                "decision_date": D(2025, 1, 15),
            }
            rows["medsoc_scales"].append(valid_rows()["medsoc_scales"][0] | scale)
    write_landing(landing, overrides=rows | {"facility_stays": [], "vaph_support": []})
    return people


def test_the_threshold_6_reform_changes_exactly_the_persons_between_5_5_and_6_without_another_ground(tmp_path):
    people = threshold_landing(tmp_path / "landing")
    result = simulate(tmp_path, tmp_path / "landing", REFORMS / "adl-iadl-6.yaml")
    folder = Path(result["path"])
    changes = pl.read_parquet(folder / "changes.parquet")
    losing = {people[c[0]] for c in THRESHOLD if c[-1]}
    assert set(changes["insz"]) == losing
    assert changes["budget"].unique().to_list() == ["ZZB"]
    # the right from 2025-05 (ZZB-START: 4 months after January 2025) through 2026-11: 19 months, all lost
    assert changes["months_lost"].to_list() == [19] * len(losing)
    assert changes["months_reform"].to_list() == [0] * len(losing) and changes["months_gained"].sum() == 0
    assert changes["first_changed_month"].unique().to_list() == [D(2025, 5, 1)]
    assert changes["amount_difference"].to_list() == [Decimal("-2660.00")] * len(losing)  # 19 x 140.00
    zzb = json.loads((folder / "summary.json").read_text())["reforms"]["adl-iadl-6"]["budgets"]["ZZB"]["total"]
    assert (zzb["baseline"]["persons"], zzb["reform"]["persons"]) == (5, 5 - len(losing))
    assert (zzb["persons_losing"], zzb["persons_gaining"], zzb["months_lost"]) == (len(losing), 0, 19 * len(losing))
    assert zzb["cost_difference"] == f"{-2660 * len(losing)}.00"


# --- summary.json adds up, and its baseline is the nightly run's decisions ----------------------------------


@pytest.fixture(scope="module")
def sample_runs(tmp_path_factory, prefect_harness):
    """The nightly run of the sample on AS_OF, and a simulation of the three example reforms on the same D."""
    from flows.nightly import run_nightly

    tmp = tmp_path_factory.mktemp("sample")
    night = run_nightly(as_of=AS_OF, landing=SAMPLE, outbox=tmp / "out", state=tmp / "state.duckdb", quiet=True)
    reforms = [REFORMS / f"{n}.yaml" for n in ("adl-iadl-6", "zzb-150-2027", "bob-delay-4", "residence-3-years")]
    result = simulate(tmp, SAMPLE, *reforms)
    return Path(night["path"]), Path(result["path"])


def totals_of(periods: pl.DataFrame) -> dict[str, tuple[int, int, Decimal]]:
    """Per budget: persons, entitled months and their cost, from _decisions/periods.parquet."""
    months = (pl.col("last_month").dt.year() - pl.col("first_month").dt.year()) * 12 + (
        pl.col("last_month").dt.month().cast(pl.Int32) - pl.col("first_month").dt.month() + 1
    )
    entitled = periods.filter(pl.col("status") == "ENTITLED").with_columns(months.alias("months"))
    grouped = entitled.group_by("budget").agg(
        pl.col("insz").n_unique(), pl.col("months").sum(), (pl.col("monthly_amount") * pl.col("months")).sum()
    )
    return {b: (int(p), int(m), Decimal(c)) for b, p, m, c in grouped.iter_rows()}


def test_the_baseline_of_summary_json_is_the_nightly_runs_decisions(sample_runs):
    night, folder = sample_runs
    expected = totals_of(pl.read_parquet(night / "_decisions" / "periods.parquet"))
    summary = json.loads((folder / "summary.json").read_text())
    assert set(summary["reforms"]) == {"adl-iadl-6", "zzb-150-2027", "bob-delay-4", "residence-3-years"}
    for reform in summary["reforms"].values():
        for budget, (persons, months, cost) in expected.items():
            baseline = reform["budgets"][budget]["total"]["baseline"]
            assert (baseline["persons"], baseline["months"], Decimal(baseline["cost"])) == (persons, months, cost)
    report = json.loads((night / "_report.json").read_text())
    assert sum(e[1] for e in expected.values()) == report["decisions"]["months_entitled"]


def test_summary_json_adds_up_over_zorgkassen_and_years_and_agrees_with_changes_parquet(sample_runs):
    _, folder = sample_runs
    summary = json.loads((folder / "summary.json").read_text())
    changes = pl.read_parquet(folder / "changes.parquet")
    for name, reform in summary["reforms"].items():
        for budget, block in reform["budgets"].items():
            total = block["total"]
            for part in (list(block["years"].values()), [z["total"] for z in block["zorgkassen"].values()]):
                for side in ("baseline", "reform"):
                    assert sum(p[side]["months"] for p in part) == total[side]["months"]
                    assert sum(Decimal(p[side]["cost"]) for p in part) == Decimal(total[side]["cost"])
                for key in ("months_gained", "months_lost", "months_amount_changed"):
                    assert sum(p[key] for p in part) == total[key]
            for zorgkas in block["zorgkassen"].values():
                assert (
                    sum(y["reform"]["months"] for y in zorgkas["years"].values())
                    == zorgkas["total"]["reform"]["months"]
                )
            assert (
                total["reform"]["months"] == total["baseline"]["months"] + total["months_gained"] - total["months_lost"]
            )
            assert (
                total["reform"]["persons"]
                == total["baseline"]["persons"] + total["persons_gaining"] - total["persons_losing"]
            )
            mine = changes.filter((pl.col("reform") == name) & (pl.col("budget") == budget))
            assert (
                mine["months_lost"].sum() == total["months_lost"]
                and mine["months_gained"].sum() == total["months_gained"]
            )
            assert Decimal(mine["amount_difference"].sum() or 0) == Decimal(total["cost_difference"])
    assert summary["simulation"]["window"] == {"first_month": "2024-12-01", "last_month": "2026-11-01"}
    assert list(summary["reforms"]["adl-iadl-6"]["budgets"]["ZZB"]["years"]) == ["2024", "2025", "2026"]


def test_the_examples_on_the_sample_change_what_they_should(sample_runs):
    _, folder = sample_runs
    reforms = json.loads((folder / "summary.json").read_text())["reforms"]
    assert reforms["adl-iadl-6"]["budgets"]["ZZB"]["total"]["persons_losing"] > 0
    assert reforms["adl-iadl-6"]["budgets"]["BOB"]["total"]["cost_difference"] == "0.00"
    assert reforms["bob-delay-4"]["budgets"]["BOB"]["total"]["months_lost"] > 0
    assert reforms["bob-delay-4"]["budgets"]["ZZB"]["total"]["cost_difference"] == "0.00"
    residence = reforms["residence-3-years"]["budgets"]["ZZB"]["total"]
    assert residence["persons_gaining"] > 0 and residence["months_gained"] > 0 and residence["persons_losing"] == 0
    # 150 EUR from 2027 is outside a window ending 2026-11: nothing changes (test_zzb_150_on_a_2027_date)
    assert all(b["total"]["cost_difference"] == "0.00" for b in reforms["zzb-150-2027"]["budgets"].values())


def test_zzb_150_on_a_2027_date_changes_the_amount_of_the_2027_months_only(tmp_path):
    """The newest delivery on or before D is read: --as-of 2027-12-26 decides the window 2026-01..2027-12."""
    result = simulate(tmp_path, SAMPLE, REFORMS / "zzb-150-2027.yaml", as_of=D(2027, 12, 26))
    summary = json.loads((Path(result["path"]) / "summary.json").read_text())
    zzb = summary["reforms"]["zzb-150-2027"]["budgets"]["ZZB"]
    assert zzb["years"]["2026"]["cost_difference"] == "0.00" and zzb["years"]["2026"]["months_amount_changed"] == 0
    changed = zzb["years"]["2027"]["months_amount_changed"]
    assert changed == zzb["years"]["2027"]["baseline"]["months"] > 0
    assert Decimal(zzb["years"]["2027"]["cost_difference"]) == 10 * changed
    assert zzb["total"]["persons_gaining"] == zzb["total"]["persons_losing"] == 0
    assert summary["reforms"]["zzb-150-2027"]["budgets"]["BOB"]["total"]["cost_difference"] == "0.00"


def test_files_are_private_and_the_report_holds_counts_only(sample_runs):
    _, folder = sample_runs
    assert sorted(p.name for p in folder.iterdir()) == ["changes.parquet", "report.html", "summary.json"]
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path
    assert personal_data((folder / "report.html").read_text()) == []
    # summary.json names its code version and sha256 digests: hex, which may hold a run of 11 digits
    summary = re.sub(r'"(0[.][^"]*[+])?[0-9a-f]{12,64}"', '""', (folder / "summary.json").read_text())
    assert personal_data(summary) == []
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no staging folder left
    assert not (folder.parents[2] / "nightly" / "2026-11-26" / "ZK100" / "simulation").exists()


def test_the_report_opens_in_a_browser_without_errors(sample_runs):
    from tests.helpers.browser import chromium, dump_dom

    if chromium() is None:
        pytest.skip("chromium is not installed")
    _, folder = sample_runs
    dom, messages = dump_dom(folder / "report.html")
    assert messages == []
    assert dom.count("<svg") >= 6 and "Hervorming adl-iadl-6" in dom and "Hoe leest u de cijfers?" in dom
    assert "Personen met een maand recht" in dom and "How to read" not in dom  # Dutch by default


# --- publication ------------------------------------------------------------------------------------------


def test_a_rerun_is_a_no_op_when_identical_and_replaces_the_folder_when_not(tmp_path):
    reform = tmp_path / "r.yaml"
    reform.write_text((REFORMS / "adl-iadl-6.yaml").read_text().replace("name: adl-iadl-6", "name: r"))
    first = simulate(tmp_path, SAMPLE, reform)
    assert first["status"] == "published"
    before = (Path(first["path"]) / "summary.json").read_bytes()
    assert simulate(tmp_path, SAMPLE, reform)["status"] == "identical"
    reform.write_text(reform.read_text().replace('value: "6"', 'value: "7"'))
    again = simulate(tmp_path, SAMPLE, reform)
    assert again["status"] == "replaced" and again["path"] == first["path"]
    after = (Path(again["path"]) / "summary.json").read_bytes()
    assert after != before and b'"value": "7"' in after
    assert sorted(p.name for p in Path(again["path"]).parent.iterdir()) == ["2026-11-26"]


def test_the_command_prints_one_line_and_a_wrong_reform_fails_before_anything(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ndescription: x\nparameters: [{name: zzb_monthly, from: 2027-01-01, value: 150}]\n")
    common = ["--landing", str(SAMPLE), "--outbox", str(tmp_path / "out"), "--quiet"]
    assert main(["simulate", "--as-of", "2026-11-26", "--reform", str(bad), *common]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"vsb simulate: error: reform {bad}: parameters entry 1 (zzb_monthly): value 150 is not a money amount: "
        'a decimal string with at most two decimals, such as "150.00" (never a YAML number): '
        "correct the reform file (docs/simulation.md), then run again"
    ]
    assert not (tmp_path / "out").exists()
    reform = str(REFORMS / "bob-delay-4.yaml")
    assert main(["simulate", "--as-of", "2026-11-26", "--reform", reform, "--name", "bob", *common]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("simulate bob: 3 changed, published ") and out.endswith("simulations/bob/2026-11-26")


# --- vsb explain --reform -----------------------------------------------------------------------------------


def test_explain_with_a_reform_shows_both_records_and_marks_the_months_and_codes_that_differ(tmp_path):
    from flows.explain_reform import explain_reform

    people = threshold_landing(tmp_path / "landing")
    person = people["ADL+IADL exactly 5.5, no other ground"]
    reform = REFORMS / "adl-iadl-6.yaml"
    record = json.loads(explain_reform(person, AS_OF, tmp_path / "landing", reform, as_json=True))
    zzb = record["budgets"]["ZZB"]
    # from the screener's month G-BELRAI holds under the baseline only; from 2025-05 the right (ZZB-START) too
    assert [m["month"] for m in zzb if m["differs"]] == [m["month"] for m in zzb if m["month"] >= "2025-01"]
    may = next(m for m in zzb if m["month"] == "2025-05")
    assert (may["baseline"]["status"], may["reform"]["status"]) == ("ENTITLED", "NOT_ENTITLED")
    # a ground that no longer holds fails (no care need proved): not "-", which is a condition not judged
    assert may["codes"] == [
        {"code": "G-BELRAI", "baseline": "holds", "reform": "fails"},
        {"code": "ZZB-START", "baseline": "holds", "reform": "fails"},
    ]
    april = next(m for m in zzb if m["month"] == "2025-04")
    assert april["baseline"]["status"] == april["reform"]["status"] == "NOT_ENTITLED"
    assert april["codes"] == [{"code": "G-BELRAI", "baseline": "holds", "reform": "fails"}]
    assert not next(m for m in zzb if m["month"] == "2024-12")["differs"]
    assert record["differences"] == {
        "ZZB": {"months_differ": 23, "months_gained": 0, "months_lost": 19},
        "BOB": {"months_differ": 0, "months_gained": 0, "months_lost": 0},
    }
    assert record["reform"]["name"] == "adl-iadl-6"
    # the text, in Dutch by default: equal consecutive months on one line
    lines = explain_reform(person, AS_OF, tmp_path / "landing", reform).splitlines()
    assert lines[0] == f"Beslissingsdossier van {person} op 2026-11-26: basis en hervorming adl-iadl-6"
    lost = next(line for line in lines if line.startswith("  >> 2025-05 tot 2026-11"))
    assert lost.split()[4:6] == ["recht", "140.00"]
    assert lost.endswith("G-BELRAI voldaan -> niet voldaan, ZZB-START voldaan -> niet voldaan")
    assert next(line for line in lines if "2025-01" in line).startswith("  >> 2025-01 tot 2025-04")
    assert next(line for line in lines if "2024-12" in line).startswith("     2024-12 ")
    assert sum(line.startswith("  >> ") for line in lines) == 2
    assert "  geen maand verschilt (24 maanden, 0 met recht onder beide)" in lines
    french = explain_reform(person, AS_OF, tmp_path / "landing", reform, lang="FR").splitlines()
    assert french[0] == f"Dossier de décision de {person} au 2026-11-26 : base et réforme adl-iadl-6"
    assert next(line for line in french if line.startswith("  >> 2025-05 à 2026-11")).endswith(
        "G-BELRAI rempli -> non rempli, ZZB-START rempli -> non rempli"
    )
    same = explain_reform(people["ADL+IADL exactly 6: a right under both"], AS_OF, tmp_path / "landing", reform)
    assert ">>" not in same and "  geen maand verschilt (24 maanden, 19 met recht onder beide)" in same.splitlines()


# --- the comparison on hand-made periods ---------------------------------------------------------------------


def periods(*rows) -> pl.LazyFrame:
    """Decided periods (SCENARIO_COLUMNS) of (insz, zorgkas, budget, first, last, status, amount)."""
    from pipelines.simulate.compare import SCENARIO_COLUMNS

    types = [pl.String] * 3 + [pl.Date] * 2 + [pl.String, pl.Decimal(12, 2)]
    schema = dict(zip(SCENARIO_COLUMNS, types, strict=True))
    return pl.LazyFrame([list(r) for r in rows], schema=schema, orient="row")


def test_a_reform_in_a_year_and_zorgkas_where_the_baseline_has_no_one_shows_there():
    """Gaining in a group the baseline does not have (no baseline row to correct) still counts; a period
    cut differently, with the same months and amounts, is no change."""
    from pipelines.simulate.compare import (
        LEVELS,
        baseline_cube,
        candidates,
        changes,
        cube,
        differences,
        entitled,
        entitled_runs,
        reform_levels,
        rollup,
    )

    years = [2025, 2026]
    A, B, C = "85073112305", "00120555686", "01082041759"
    base = entitled(periods((A, "ZK100", "ZZB", D(2025, 1, 1), D(2025, 12, 1), "ENTITLED", Decimal("140"))))
    reform = entitled(
        periods(
            (A, "ZK100", "ZZB", D(2025, 1, 1), D(2025, 6, 1), "ENTITLED", Decimal("140")),  # cut, same months
            (A, "ZK100", "ZZB", D(2025, 7, 1), D(2025, 12, 1), "ENTITLED", Decimal("140")),
            (B, "ZK200", "BOB", D(2026, 3, 1), D(2026, 5, 1), "ENTITLED", Decimal("300")),  # gains 3 months
            (C, "ZK200", "BOB", D(2026, 3, 1), D(2026, 5, 1), "NOT_ENTITLED", Decimal("300")),
        )
    )
    levels = {level: rollup(baseline_cube(base, years).collect(), by) for level, by in LEVELS.items()}
    keys = candidates(base, reform).lazy()
    mine = [
        entitled_runs(e.join(keys, on=["insz", "zorgkas", "budget"], how="semi")).collect().lazy()
        for e in (base, reform)
    ]
    moved = differences(*mine, years).collect()
    assert moved.select("first_month", "last_month", "months").rows() == [(D(2026, 3, 1), D(2026, 5, 1), 3)]
    assert changes(moved.lazy(), *mine, "r").collect()["insz"].to_list() == [B]  # as text, its zeros kept
    found = reform_levels(levels, cube(*mine, moved.lazy(), years).collect())
    bob_2026 = found["zorgkassen_years"].filter(budget="BOB", zorgkas="ZK200", year=2026).row(0, named=True)
    assert (bob_2026["persons_baseline"], bob_2026["persons_reform"], bob_2026["persons_gaining"]) == (0, 1, 1)
    assert (bob_2026["months_baseline"], bob_2026["months_reform"], bob_2026["cost_reform"]) == (0, 3, Decimal("900"))
    zzb = found["total"].filter(budget="ZZB").row(0, named=True)
    assert (zzb["months_baseline"], zzb["months_reform"], zzb["persons_gaining"], zzb["persons_losing"]) == (
        12,
        12,
        0,
        0,
    )

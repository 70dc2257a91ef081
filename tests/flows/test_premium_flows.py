"""The premium runs end to end (flows/premium.py): invoices and fines published per zorgkas, reruns that
reissue nothing, a crash between the state commit and the rename, privacy of the reports."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import stat
from decimal import Decimal

import polars as pl
import pytest
from stdnum.be import ogm_vcs

from flows.cli import main
from flows.publication.folder import PublishError
from flows.reference import load_reference
from flows.state.store import connect
from pipelines.params import ParameterError
from tests.helpers.builders import INSZ_1985, INSZ_2000, valid_rows, write_landing

D = dt.date
pytestmark = pytest.mark.usefixtures("prefect_harness")
CODES = load_reference().zorgkas_codes
INVOICE_COLUMNS = [
    "invoice_id",
    "insz",
    "zorgkas",
    "premium_year",
    "amount",
    "reduced",
    "grounds",
    "structured_reference",
    "due_date",
    "invoice_date",
]


def insz_for(birth: dt.date, counter: int) -> str:
    """A valid national number (docs/spec/rules.md R-ID) for a test person."""
    base9 = int(f"{birth:%y%m%d}{counter:03d}")
    prefixed = base9 + 2_000_000_000 if birth.year >= 2000 else base9
    return f"{base9:09d}{97 - prefixed % 97:02d}"


INSZ_2001 = insz_for(D(2001, 3, 3), 7)  # turns 26 in 2027
INSZ_1970 = insz_for(D(1970, 5, 5), 9)  # a member who joins later
SECRETS = [INSZ_1985, INSZ_2000, INSZ_2001, INSZ_1970, "An Peeters", "BE72735100000116"]


def member(insz: str, **changes) -> dict:
    return valid_rows()["members"][0] | {"insz": insz} | changes


def invoice_landing(landing, delivery: dt.date, later_member: bool = False):
    """A (INSZ_1985, ZK100, VT since 2020: reduced), B (INSZ_2000, ZK200, turns 26 in 2026), C (born 2001, ZK100);
    with `later_member`, E (born 1970, ZK100) too. All domiciled in Flanders since birth."""
    people = [
        member(INSZ_1985),
        member(INSZ_2000, zorgkas="ZK200", birth_date=D(2000, 12, 5), affiliation_start=D(2018, 12, 5)),
        member(INSZ_2001, birth_date=D(2001, 3, 3), affiliation_start=D(2019, 3, 3)),
    ]
    if later_member:
        people.append(member(INSZ_1970, birth_date=D(1970, 5, 5), affiliation_start=D(2026, 1, 20)))
    residence = [dict(insz=m["insz"], region="VL", start_date=m["birth_date"], end_date=None) for m in people]
    return write_landing(landing, delivery, {"members": people, "residence_periods": residence})


def invoices(tmp_path, landing, year, as_of, **kw):
    from flows.premium import run_invoices

    return run_invoices(
        year=year,
        as_of=as_of,
        landing=landing,
        outbox=tmp_path / "out",
        state=tmp_path / "vsb.duckdb",
        quiet=True,
        **kw,
    )


def fines(tmp_path, landing, year, **kw):
    from flows.premium import run_fines

    return run_fines(
        year=year, landing=landing, outbox=tmp_path / "out", state=tmp_path / "vsb.duckdb", quiet=True, **kw
    )


def ledger(tmp_path, table: str = "premium_invoices") -> pl.DataFrame:
    with connect(str(tmp_path / "vsb.duckdb"), read_only=True) as con:
        return pl.from_arrow(con.sql(f"SELECT * FROM {table} ORDER BY ALL").to_arrow_table())


def read(folder, code: str, name: str = "invoices") -> pl.DataFrame:
    return pl.read_parquet(folder / code / f"{name}.parquet")


def test_invoices_publish_per_zorgkas_privately_and_an_identical_rerun_is_a_no_op(tmp_path):
    landing = invoice_landing(tmp_path / "landing", D(2026, 1, 1))
    result = invoices(tmp_path, landing, 2026, D(2026, 1, 2))
    folder = tmp_path / "out" / "invoices" / "2026" / "2026-01-02"
    assert result == {"path": str(folder), "status": "published", "issued": 2}
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [*CODES, "_manifest.json", "_report.html", "_report.json", "_state"]
    )
    for code in CODES:
        letters = ["letters", "letters.parquet"] if code in ("ZK100", "ZK200") else []  # L-INVOICE
        assert sorted(p.name for p in (folder / code).iterdir()) == sorted(
            ["invoices.csv", "invoices.parquet", "manifest.json", "overview.xlsx", "quarantine.parquet", *letters]
        )
        assert read(folder, code).columns == INVOICE_COLUMNS
        assert set(read(folder, code)["zorgkas"]) <= {code}  # a zorgkas folder holds only its members
    a, b = read(folder, "ZK100").to_dicts(), read(folder, "ZK200").to_dicts()
    assert [r["insz"] for r in a] == [INSZ_1985] and [r["insz"] for r in b] == [INSZ_2000]
    assert {k: a[0][k] for k in ("invoice_id", "amount", "reduced", "grounds", "due_date", "invoice_date")} == {
        "invoice_id": "ZK100-2026-0000000001",
        "amount": Decimal("35.00"),
        "reduced": True,
        "grounds": ["P-LIABLE", "P-REDUCED"],
        "due_date": D(2026, 4, 30),
        "invoice_date": D(2026, 1, 2),
    }
    assert b[0]["amount"] == 100 and not b[0]["reduced"] and b[0]["grounds"] == ["P-LIABLE"]
    for row in a + b:
        assert ogm_vcs.is_valid(row["structured_reference"])
    csv = (folder / "ZK100" / "invoices.csv").read_text().splitlines()
    assert csv[0] == ",".join(INVOICE_COLUMNS)
    assert csv[1].endswith(",35.00,true,P-LIABLE;P-REDUCED,+++000/0000/00101+++,2026-04-30,2026-01-02")
    report = json.loads((folder / "_report.json").read_text())
    assert report["invoices"]["issued"] == 2 and report["invoices"]["per_zorgkas"]["ZK100"]["amount"] == "35.00"
    manifest = json.loads((folder / "_manifest.json").read_text())
    assert manifest["run"] == {"kind": "invoices", "date": "2026-01-02", "premium_year": 2026}
    assert manifest["zorgkassen"]["ZK200"]["totals"] == {
        "invoices": 1,
        "reduced": 0,
        "amount": "100.00",
        "letters": {"letters": 1, "by_kind": {"L-INVOICE": 1}},
    }
    letters = pl.read_parquet(folder / "ZK100" / "letters.parquet")
    assert letters.select("insz", "kind", "subject", "file").rows() == [
        (INSZ_1985, "L-INVOICE", "ZK100-2026-0000000001", "letters/0001.pdf")
    ]
    assert letters["letter_id"][0] == "20260102-ZK100-INV-0000001"  # the invoice's reference base
    for path in [folder / "_report.json", folder / "_manifest.json", *folder.glob("*/manifest.json")]:
        text = path.read_text()
        assert not [s for s in SECRETS if s in text], path
    for path in folder.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o007 == 0, path

    assert invoices(tmp_path, landing, 2026, D(2026, 1, 2)) == {"path": str(folder), "status": "identical", "issued": 0}
    assert ledger(tmp_path).height == 2


def priced_2027(monkeypatch) -> None:
    """The reference data with premium amounts of 2027 too: the file's end at 2026 (per-year amounts, docs/spec/
    rules.md Parameters) would refuse a run for 2027."""
    base = load_reference()
    table = base.parameters
    known = {
        name: [(v.from_date, v.value) for v in table.dated(name)] for name in ("premium_normal", "premium_reduced")
    }
    priced = table.with_values(
        {
            "premium_normal": [*known["premium_normal"], (D(2027, 1, 1), "100.00")],
            "premium_reduced": [*known["premium_reduced"], (D(2027, 1, 1), "35.00")],
        }
    )
    monkeypatch.setattr("flows.premium.load_reference", lambda: dataclasses.replace(base, parameters=priced))


def test_a_later_run_invoices_only_new_members_and_old_invoices_keep_their_references(tmp_path, monkeypatch):
    priced_2027(monkeypatch)
    landing = invoice_landing(tmp_path / "landing", D(2026, 1, 1))
    invoices(tmp_path, landing, 2026, D(2026, 1, 2))
    first = ledger(tmp_path)
    invoice_landing(landing, D(2026, 2, 1), later_member=True)

    later = invoices(tmp_path, landing, 2026, D(2026, 3, 1))
    folder = tmp_path / "out" / "invoices" / "2026" / "2026-03-01"
    assert later["issued"] == 1
    assert read(folder, "ZK100").select("insz", "invoice_id", "due_date").rows() == [
        (INSZ_1970, "ZK100-2026-0000000002", D(2026, 4, 30))
    ]
    assert read(folder, "ZK200").height == 0
    # the first date again: its deliveries and its invoices, unchanged
    assert invoices(tmp_path, landing, 2026, D(2026, 1, 2))["status"] == "identical"
    assert ledger(tmp_path).filter(pl.col("invoice_date") == D(2026, 1, 2)).equals(first)

    # the next year: every base continues its zorgkas's sequence, unique across years
    invoices(tmp_path, landing, 2027, D(2027, 1, 4))
    everything = ledger(tmp_path)
    assert everything.filter(pl.col("premium_year") == 2027).select("zorgkas", "insz", "reference_base").sort(
        "zorgkas", "reference_base"
    ).rows() == [
        ("ZK100", INSZ_2001, 3),  # insz order within ZK100: 01..., 70..., 85...
        ("ZK100", INSZ_1970, 4),
        ("ZK100", INSZ_1985, 5),
        ("ZK200", INSZ_2000, 2),
    ]
    assert everything.select(pl.struct("zorgkas", "reference_base").is_unique().all()).item()


def same_files(folder, clean_folder) -> None:
    names = sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(clean_folder) for p in clean_folder.rglob("*") if p.is_file())
    for name in names:
        if name.name not in ("_report.json", "_report.html"):  # timings
            assert (folder / name).read_bytes() == (clean_folder / name).read_bytes(), name


def test_a_crash_between_the_state_commit_and_the_rename_is_completed_by_the_next_run_of_any_kind(
    tmp_path, monkeypatch
):
    """docs/spec/outputs.md, Ordered: the next run, here a fine run, first publishes the sealed invoice folder."""
    landing = invoice_landing(tmp_path / "landing", D(2026, 1, 1))
    monkeypatch.setenv("VSB_CRASH_AT", "before-rename")
    with pytest.raises(Exception, match="crash injected"):
        invoices(tmp_path, landing, 2026, D(2026, 1, 2))
    monkeypatch.delenv("VSB_CRASH_AT")
    folder = tmp_path / "out" / "invoices" / "2026" / "2026-01-02"
    assert not folder.exists() and ledger(tmp_path).height == 2  # committed, not published

    assert fines(tmp_path, landing, 2026)["status"] == "published"
    clean = tmp_path / "clean"
    invoices(clean, landing, 2026, D(2026, 1, 2))
    same_files(folder, clean / "out" / "invoices" / "2026" / "2026-01-02")
    assert not list((tmp_path / "out").rglob(".staging-*"))
    assert invoices(tmp_path, landing, 2026, D(2026, 1, 2))["status"] == "identical"
    with connect(str(tmp_path / "vsb.duckdb"), read_only=True) as con:
        assert con.sql("SELECT kind, run_key FROM runs WHERE NOT published").fetchall() == []


def test_a_fine_run_crashed_before_its_rename_is_completed_by_the_next_fine_run(tmp_path, monkeypatch):
    """The crash probe of a fine run (every run kind has one that every test run runs): the rerun publishes what an
    uninterrupted fine run publishes."""
    landing = fine_landing(tmp_path / "landing", D(2026, 10, 1), b_years_unpaid=1)
    monkeypatch.setenv("VSB_CRASH_AT", "before-rename")
    with pytest.raises(Exception, match="crash injected"):
        fines(tmp_path, landing, 2026)
    monkeypatch.delenv("VSB_CRASH_AT")
    assert not (tmp_path / "out" / "fines" / "2026").exists()
    assert fines(tmp_path, landing, 2026)["status"] in {"published", "identical"}
    clean = tmp_path / "clean"
    fines(clean, landing, 2026)
    same_files(tmp_path / "out" / "fines" / "2026", clean / "out" / "fines" / "2026")
    assert not list((tmp_path / "out").rglob(".staging-*"))


def test_a_committed_run_without_its_staging_folder_is_named_for_a_rerun_which_completes_it(tmp_path, monkeypatch):
    landing = invoice_landing(tmp_path / "landing", D(2026, 1, 1))
    monkeypatch.setenv("VSB_CRASH_AT", "before-rename")
    with pytest.raises(Exception, match="crash injected"):
        invoices(tmp_path, landing, 2026, D(2026, 1, 2))
    monkeypatch.delenv("VSB_CRASH_AT")
    import shutil

    shutil.rmtree(tmp_path / "out" / "invoices" / "2026" / ".staging-2026-01-02")  # lost: cannot be completed
    committed = ledger(tmp_path)
    from flows.publication.protocol import RunOrderError

    with pytest.raises(
        RunOrderError,
        match=r"invoices run 2026/2026-01-02 was committed to the state but never published, and its staging "
        r"folder is missing: rerun `vsb invoices --year 2026 --as-of 2026-01-02` first",
    ):
        invoices(tmp_path, landing, 2026, D(2026, 3, 1))

    folder = tmp_path / "out" / "invoices" / "2026" / "2026-01-02"
    assert invoices(tmp_path, landing, 2026, D(2026, 1, 2)) == {"path": str(folder), "status": "published", "issued": 0}
    assert ledger(tmp_path).equals(committed)
    clean = tmp_path / "clean"
    invoices(clean, landing, 2026, D(2026, 1, 2))
    same_files(folder, clean / "out" / "invoices" / "2026" / "2026-01-02")
    assert ledger(clean).equals(committed)
    assert invoices(tmp_path, landing, 2026, D(2026, 3, 1))["status"] == "published"  # no longer pending


def fine_landing(landing, delivery: dt.date, b_years_unpaid: int):
    """A (INSZ_1985, ZK100, VT since 2020) has 2024 and 2025 unpaid; B (INSZ_2000, ZK200) the last
    `b_years_unpaid` of 2024, 2025."""
    unpaid = dict(amount_paid=0.0, paid_date=None)
    paid = dict(paid_date=D(2024, 3, 1))
    rows = [
        dict(insz=INSZ_1985, premium_year=2024, amount_due=31.0, due_date=D(2024, 4, 30)) | unpaid,
        dict(insz=INSZ_1985, premium_year=2025, amount_due=64.0, due_date=D(2025, 4, 30)) | unpaid,
    ]
    for year, due in ((2024, 62.0), (2025, 64.0)):
        state = unpaid if year > 2025 - b_years_unpaid else paid | {"amount_paid": due}
        rows.append(dict(insz=INSZ_2000, premium_year=year, amount_due=due, due_date=D(year, 4, 30)) | state)
    people = [
        member(INSZ_1985),
        member(INSZ_2000, zorgkas="ZK200", birth_date=D(2000, 12, 5), affiliation_start=D(2018, 12, 5)),
    ]
    return write_landing(landing, delivery, {"members": people, "premium_payments": rows})


def test_fines_at_most_one_per_person_and_year_whatever_the_reruns(tmp_path):
    landing = fine_landing(tmp_path / "landing", D(2026, 10, 1), b_years_unpaid=1)
    fine_landing(landing, D(2026, 10, 16), b_years_unpaid=2)  # after the reference date: not read
    result = fines(tmp_path, landing, 2026)
    folder = tmp_path / "out" / "fines" / "2026"
    assert result == {"path": str(folder), "status": "published", "proposed": 1}
    assert read(folder, "ZK100", "fines").to_dicts() == [
        dict(insz=INSZ_1985, zorgkas="ZK100", fine_year=2026, amount=100, years_in_default=[2024, 2025])
    ]
    assert read(folder, "ZK200", "fines").height == 0
    assert (folder / "ZK100" / "fines.csv").read_text().splitlines()[1] == f"{INSZ_1985},ZK100,2026,100.00,2024;2025"
    report = (folder / "_report.json").read_text()
    run = json.loads(report)["run"]
    assert run | {"code_version": "-"} == {
        "kind": "fines",
        "date": "2026-10-15",
        "fine_year": 2026,
        "folder": "2026",
        "status": "published",
        "code_version": "-",
    }
    assert not [s for s in SECRETS if s in report]
    assert fines(tmp_path, landing, 2026)["status"] == "identical"

    fine_landing(landing, D(2026, 10, 10), b_years_unpaid=2)  # a corrected delivery before the reference date
    with pytest.raises(PublishError, match="already published as 2026 with a different result"):
        fines(tmp_path, landing, 2026)
    assert ledger(tmp_path, "premium_fines").height == 1  # a refused run changes nothing
    again = fines(tmp_path, landing, 2026, replace=True)
    assert again["status"] == "replaced" and again["path"].endswith("2026.v2") and again["proposed"] == 1
    rows = ledger(tmp_path, "premium_fines")
    assert rows.select("insz", "fine_year", "run_key").rows() == [
        (INSZ_2000, 2026, "2026.v2"),
        (INSZ_1985, 2026, "2026"),
    ]
    assert read(tmp_path / "out" / "fines" / "2026.v2", "ZK100", "fines")["insz"].to_list() == [INSZ_1985]


def test_cli_invoices_for_a_year_without_its_reduced_premium_fails_with_one_line(tmp_path, capsys):
    landing = invoice_landing(tmp_path / "landing", D(2026, 1, 1))
    common = ["--landing", str(landing), "--outbox", str(tmp_path / "out"), "--state", str(tmp_path / "s.duckdb")]
    code = main(["invoices", "--year", "2025", "--as-of", "2026-01-02", *common, "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err[-1].startswith("vsb invoices: error: parameter premium_reduced is missing for the year 2025")
    assert not (tmp_path / "out" / "invoices" / "2025").exists()
    assert main(["invoices", "--year", "2026", "--as-of", "2026-01-02", *common, "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == (
        f"invoices 2026 on 2026-01-02: 2 issued, published {tmp_path / 'out' / 'invoices' / '2026' / '2026-01-02'}"
    )


# fmt: off
UNPRICED = [
    # name                                                            year   message
    ("2025: the reduced premium is not known",                        2025,  "parameter premium_reduced is missing for the year 2025 (not known"),
    ("2030: no premium amount of 2030 (2026's is not carried on)",    2030,  "parameter premium_normal has no value for the year 2030 (a value per year; the newest is from 2026-01-01)"),
]
# fmt: on


@pytest.mark.parametrize("year, message", [pytest.param(*c[1:], id=c[0]) for c in UNPRICED])
def test_invoices_of_a_year_without_its_amounts_fail_naming_the_parameter_and_change_nothing(tmp_path, year, message):
    """P-AMOUNT (docs/spec/rules.md, Parameters: premium amounts are per year, "the run fails with a clear error
    for a year whose amount is missing"): the invoice flow refuses before it reads a feed; nothing is issued,
    published or added to the ledger (issue 20: `vsb invoices --year 2030` issued 1,442 invoices at 2026's)."""
    landing = invoice_landing(tmp_path / "landing", D(2026, 1, 1))
    invoices(tmp_path, landing, 2026, D(2026, 1, 2))
    before = ledger(tmp_path)
    with pytest.raises(ParameterError) as refused:
        invoices(tmp_path, landing, year, D(2026, 1, 2))
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)
    assert ledger(tmp_path).equals(before)
    assert sorted(p.name for p in (tmp_path / "out" / "invoices").iterdir()) == ["2026"]

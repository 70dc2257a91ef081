"""Golden letters (docs/spec/rules.md §9): the sample's nights and invoice run on a fresh state, and hand-picked letters, one
per kind and language, read back with pdftotext and compared with the reviewed texts in tests/e2e/golden/letters/.

The runs: the go-live payment night 2026-10-26, the night of 2026-11-06 (the delivery of 2026-11-01: new, changed,
stopped and cancelled grants, a death reported late), the payment night 2026-11-26 (recoveries), the night after,
and the invoices of 2026 on 2026-11-26. After a deliberate change of the letters, regenerate the golden texts with
VSB_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest

from pipelines.emit.letters.appeal import appeal_deadline, receipt_date
from pipelines.emit.letters.content import DECISION_EVENTS, REQUEST_CODES
from schemas.outputs import Letters, columns
from synthdata.scenarios import scenario_insz

ROOT = Path(__file__).resolve().parents[2]
LANDING = ROOT / "data" / "sample" / "landing"
GOLDEN = Path(__file__).resolve().parent / "golden" / "letters"
NIGHTS = ["2026-10-26", "2026-11-06", "2026-11-26", "2026-11-27"]
INVOICES = "invoices/2026/2026-11-26"
PDFTOTEXT = shutil.which("pdftotext")
S = scenario_insz()
# name: (run folder, insz, kind)
PICKED = {
    "decision-nl": ("nightly/2026-10-26", S["S01"], "L-DECISION"),
    "decision-fr": ("nightly/2026-11-06", S["S14"], "L-DECISION"),
    "recovery-nl": ("nightly/2026-11-26", "22090176748", "L-RECOVERY"),
    "recovery-fr": ("nightly/2026-11-26", S["S14"], "L-RECOVERY"),
    "request-nl": ("nightly/2026-10-26", S["S06"], "L-REQUEST"),
    "request-fr": ("nightly/2026-10-26", S["S13"], "L-REQUEST"),
    "invoice-nl": (INVOICES, S["S01"], "L-INVOICE"),
    "invoice-fr": (INVOICES, S["S07"], "L-INVOICE"),
}
pytestmark = [
    pytest.mark.usefixtures("prefect_harness"),
    pytest.mark.skipif(
        PDFTOTEXT is None, reason="pdftotext is not installed (Debian: apt-get install -y poppler-utils)"
    ),
]


def run_sample(out: Path, state: Path, nights: list[str] = NIGHTS, invoices: bool = True) -> None:
    from flows.nightly import run_nightly
    from flows.premium import run_invoices

    for night in nights:
        day = dt.date.fromisoformat(night)
        run_nightly(as_of=day, landing=LANDING, outbox=out, state=state, accept_mass_change=True, quiet=True)
    if invoices:
        run_invoices(2026, dt.date(2026, 11, 26), LANDING, out, state, quiet=True)


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("golden-letters")
    run_sample(work / "out", work / "state" / "vsb.duckdb")
    return work / "out"


def letters_of(out: Path, run: str) -> pl.DataFrame:
    """letters.parquet of every zorgkas of a run, with the zorgkas folder."""
    found = [pl.read_parquet(p) for p in sorted((out / run).glob("*/letters.parquet"))]
    return pl.concat(found) if found else pl.DataFrame(schema=columns(Letters))


def pages(pdf: Path) -> list[str]:
    text = subprocess.run([PDFTOTEXT, "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return text.split("\f")[:-1]


def letter_text(out: Path, run: str, insz: str, kind: str) -> str:
    """The text of the one letter of `kind` for `insz` in `run`: its lines, right-stripped, without blank lines."""
    rows = letters_of(out, run).filter((pl.col("insz") == insz) & (pl.col("kind") == kind))
    assert rows.height == 1, (run, kind, rows.height)
    return text_of(out, run, rows.row(0, named=True))


def text_of(out: Path, run: str, row: dict) -> str:
    """The text of the letter of a letters.parquet row."""
    found = pages(out / run / row["zorgkas"] / row["file"])[
        row["first_page"] - 1 : row["first_page"] - 1 + row["pages"]
    ]
    lines = [line.rstrip() for page in found for line in page.splitlines()]
    return "\n".join(line for line in lines if line.strip()) + "\n"


def flat(text: str) -> str:
    """One line, single spaces, Babel's no-break spaces as plain spaces."""
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


@pytest.mark.parametrize("name", list(PICKED))
def test_golden_letter(sample, name):
    text = letter_text(sample, *PICKED[name])
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("VSB_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text()


def test_the_motivation_names_each_rule_and_the_record_behind_it(sample):
    granted = flat(letter_text(sample, *PICKED["decision-nl"]))
    assert "Zorgnood aangetoond met BelRAI Screener (G-BELRAI)" in granted
    assert "Uw BelRAI Screener toont een zware en langdurige zorgnood." in granted
    assert "Gegevens: BelRAI Screener van 10 februari 2025, gezinszorg, score 14, ref. SC-BR-01" in granted
    assert "Start van het recht na de zorgnood (ZZB-START)" in granted
    stopped = flat(letter_text(sample, *PICKED["decision-fr"]))
    assert "Votre budget de soins pour personnes fortement dépendantes prend fin." in stopped
    assert "de juillet 2025 à août 2026 inclus" in stopped
    assert "En vie le premier jour du mois (E-ALIVE)" in stopped
    assert "Données: données de la caisse d'assurance soins : 20 août 2026, décès" in stopped
    recovered = flat(letter_text(sample, *PICKED["recovery-fr"]))
    assert "Le titulaire du budget de soins est décédé" in recovered


APPEALS = [
    # name                                   letter      language  receipt              deadline
    ("a Monday: five weekdays later",        "decision-nl", "NL", "2 november 2026",  "31 januari 2027"),
    ("across 11 November, a public holiday", "decision-fr", "FR", "16 novembre 2026", "14 février 2027"),
    ("a Thursday: across a weekend",         "recovery-nl", "NL", "3 december 2026",  "3 maart 2027"),
]  # fmt: skip


@pytest.mark.parametrize("name, letter, language, receipt, deadline", APPEALS, ids=[a[0] for a in APPEALS])
def test_appeal_deadline_counts_working_days_then_ninety_days(sample, name, letter, language, receipt, deadline):
    text = flat(letter_text(sample, *PICKED[letter]))
    if language == "NL":
        assert f"Deze brief geldt als ontvangen op {receipt}: uw beroep moet dus uiterlijk op {deadline}" in text
    else:
        assert (
            f"Cette lettre est réputée reçue le {receipt} : votre recours doit donc être introduit au plus tard le {deadline}"
            in text
        )  # noqa: E501
    letter_date = dt.date.fromisoformat(PICKED[letter][0].split("/")[-1])
    assert receipt_date(letter_date, 5).day == int(receipt.split()[0])
    assert appeal_deadline(letter_date, 90, 5) == receipt_date(letter_date, 5) + dt.timedelta(days=90)


def test_the_fee_is_reduced_exactly_for_an_increased_allowance_on_the_letters_date(sample):
    allowance = pl.read_parquet(LANDING / "increased_allowance" / "delivery_date=2026-10-01" / "*.parquet")
    day = dt.date(2026, 10, 26)
    active = allowance.filter(
        (pl.col("start_date") <= day) & (pl.col("end_date").is_null() | (pl.col("end_date") >= day))
    )["insz"]
    letters = letters_of(sample, "nightly/2026-10-26").filter(pl.col("kind") == "L-DECISION")
    reduced = set(letters.filter(pl.col("insz").is_in(active.implode()))["insz"])
    assert reduced and len(reduced) < letters.height  # the sample has both
    for row in letters.iter_rows(named=True):
        text, cut = flat(text_of(sample, "nightly/2026-10-26", row)), row["insz"] in reduced
        if row["language"] == "NL":
            assert f"dossiertaks van {'€ 37,50' if cut else '€ 75,00'}." in text, row["letter_id"]
            assert ("verminderde bedrag" in text) == cut
        else:
            assert f"taxe de dossier de {'37,50 €' if cut else '75,00 €'}." in text, row["letter_id"]
            assert ("c'est le montant réduit" in text) == cut


def test_amounts_and_dates_follow_the_letters_language(sample):
    nl, fr = flat(letter_text(sample, *PICKED["decision-nl"])), flat(letter_text(sample, *PICKED["decision-fr"]))
    assert "U krijgt € 140,00 per maand." in nl and "Datum: 26 oktober 2026" in nl and "juni 2025: € 140,00" in nl
    assert "Montant mensuel: 140,00 €" in fr and "Date: 6 novembre 2026" in fr
    assert "U moet in totaal € 2.660,00 terugbetalen." in flat(letter_text(sample, *PICKED["recovery-nl"]))
    assert "Vous devez rembourser 280,00 € au total." in flat(letter_text(sample, *PICKED["recovery-fr"]))
    assert "Voor 2026 is dat € 100,00." in flat(letter_text(sample, *PICKED["invoice-nl"]))
    assert "Pour 2026, elle s'élève à 100,00 €." in flat(letter_text(sample, *PICKED["invoice-fr"]))


def test_every_event_recovery_and_request_of_a_person_not_held_gets_one_letter(sample):
    for night in NIGHTS:
        folder = sample / "nightly" / night
        letters = letters_of(sample, f"nightly/{night}")
        kinds = letters.group_by("kind").len() if letters.height else pl.DataFrame({"kind": [], "len": []})
        count = dict(kinds.iter_rows())
        events = pl.concat([pl.read_parquet(p) for p in folder.glob("*/grants.parquet")])
        assert count.get("L-DECISION", 0) == events.filter(pl.col("event").is_in(DECISION_EVENTS)).height, night
        recoveries = [pl.read_parquet(p) for p in folder.glob("*/recoveries.parquet")]
        persons = pl.concat(recoveries)["insz"].n_unique() if recoveries else 0
        assert count.get("L-RECOVERY", 0) == persons, night
        worklist = pl.concat([pl.read_parquet(p) for p in folder.glob("*/worklist.parquet")])
        held = set(worklist.filter(pl.col("code").is_in(["W-HELD", "W-MEMBER-MISSING"]))["insz"])
        assert held and held.isdisjoint(letters["insz"]), night  # the sample holds persons every night
    first = letters_of(sample, "nightly/2026-10-26")
    assert set(first["language"]) == {"NL", "FR"}


def test_a_request_is_sent_once_per_person_code_and_since(sample):
    sent = pl.concat([letters_of(sample, f"nightly/{n}").filter(pl.col("kind") == "L-REQUEST") for n in NIGHTS])
    assert sent.height and sent["subject"].str.split(" ").list.first().is_in(REQUEST_CODES).all()
    assert sent.select("insz", "subject").is_unique().all()
    assert letters_of(sample, "nightly/2026-11-27").filter(pl.col("kind") == "L-REQUEST").height == 0
    worklist = pl.read_parquet(sample / "nightly" / "2026-11-27" / "ZK100" / "worklist.parquet")
    assert worklist.filter(pl.col("code").is_in(REQUEST_CODES)).height  # the rows stay; their letters went out


def digests(out: Path, run: str) -> dict[str, str]:
    folder = out / run
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*.pdf")}


def test_the_same_night_on_a_fresh_state_gives_byte_identical_letters(sample, tmp_path):
    run_sample(tmp_path / "out", tmp_path / "state.duckdb", nights=NIGHTS[:2], invoices=False)
    for night in NIGHTS[:2]:
        again = digests(tmp_path / "out", f"nightly/{night}")
        assert again and again == digests(sample, f"nightly/{night}")
        for name in ("letters.parquet", "manifest.json"):
            for code in ("ZK100", "ZK300"):
                first = (sample / "nightly" / night / code / name).read_bytes()
                assert (tmp_path / "out" / "nightly" / night / code / name).read_bytes() == first


def test_a_rerun_of_a_night_after_later_nights_sends_the_same_letters(sample):
    from flows.nightly import run_nightly

    state = sample.parent / "state" / "vsb.duckdb"
    result = run_nightly(as_of=dt.date(2026, 10, 26), landing=LANDING, outbox=sample, state=state, quiet=True)
    assert result["status"] == "identical"  # the same letters, ids and request ledger rows: nothing to publish
    report = json.loads((sample / "nightly" / "2026-10-26" / "_report.json").read_text())
    assert report["letters"]["by_kind"]["L-REQUEST"] == 15

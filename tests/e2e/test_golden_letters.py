"""Golden letters (docs/spec/rules.md §9): the sample's nights and invoice run on a fresh state, and hand-picked letters, one
per kind and language and one per case of L-ADDRESSEE and L-REASON (a letter to the heirs of a deceased member, to a
minor's parents, each reason a grant stops that the sample holds, a recovery with how to pay it back, an invoice with its
EPC QR code), read back with pdftotext and compared with the reviewed texts in tests/e2e/golden/letters/; the reasons
the sample does not hold (the end of the affiliation, of a facility stay, a VAPH record that started, a residence that
no longer counts) are letters built here from the rules' own frames.

The runs: the go-live payment night 2026-10-26, the night of 2026-11-06 (the delivery of 2026-11-01: new, changed,
stopped and cancelled grants, a death reported late), the payment night 2026-11-26 (recoveries), the night after,
and the invoices of 2026 on 2026-11-26. After a deliberate change of the letters, regenerate the golden texts with
VSB_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from pipelines.emit.letters.appeal import appeal_deadline, appeal_terms, receipt_date
from pipelines.emit.letters.content import DECISION_EVENTS, REQUEST_CODES
from schemas.outputs import Letters, columns
from synthdata.scenarios import scenario_insz

ROOT = Path(__file__).resolve().parents[2]
LANDING = ROOT / "data" / "sample" / "landing"
D = dt.date
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
    # L-ADDRESSEE and L-REASON: decision-fr and recovery-fr go to the heirs of S14 (died 20 August 2026); recovery-nl
    # to the parents of a child born in 2022, with the scale that ended and the one no longer delivered
    "stop-scale-ended-nl": ("nightly/2026-11-06", "22090176748", "L-DECISION"),
    "cancel-record-gone-nl": ("nightly/2026-11-06", "70010306561", "L-DECISION"),
    "cancel-newer-screener-nl": ("nightly/2026-11-06", "42081255325", "L-DECISION"),
    # rules.md §10: a grant by hand (S18, no automatic ground) and one on appeal (S20), motivated by the decision
    "decision-by-hand-nl": ("nightly/2026-10-26", S["S18"], "L-DECISION"),
    "decision-on-appeal-nl": ("nightly/2026-10-26", S["S20"], "L-DECISION"),
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
    """The pages of a PDF as pdftotext reads them: once per file as it is on disk (a published file is never
    rewritten; the tests read the letters of one file many times)."""
    found = pdf.stat()
    return list(_pages(pdf.resolve(), found.st_size, found.st_mtime_ns))


@functools.cache
def _pages(pdf: Path, size: int, mtime_ns: int) -> tuple[str, ...]:
    text = subprocess.run([PDFTOTEXT, "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return tuple(text.split("\f")[:-1])


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
    assert "Le budget de soins pour personnes lourdement dépendantes de la personne décédée prend fin." in stopped
    assert "de juillet 2025 à août 2026 inclus" in stopped
    assert "En vie le premier jour du mois (E-ALIVE)" in stopped
    assert "Données : données de la caisse d'assurance soins : 20 août 2026, décès" in stopped
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
        if "l'Agentschap Vlaamse Sociale Bescherming a déjà statué" in text or "heeft er al over beslist" in text:
            continue  # a decision on appeal: no appeal paragraph, so no fee (rules.md §10, L-DECISION by hand)
        if row["language"] == "NL":
            assert f"dossiertaks van {'€ 37,50' if cut else '€ 75,00'}." in text, row["letter_id"]
            assert ("verminderde bedrag" in text) == cut
        else:
            assert f"taxe de dossier de {'37,50 €' if cut else '75,00 €'}." in text, row["letter_id"]
            assert ("c'est le montant réduit" in text) == cut


def test_amounts_and_dates_follow_the_letters_language(sample):
    nl, fr = flat(letter_text(sample, *PICKED["decision-nl"])), flat(letter_text(sample, *PICKED["decision-fr"]))
    assert (
        "U krijgt € 140,00 per maand." in nl
        and "Datum: 26 oktober 2026" in nl
        and "juni 2025 tot en met oktober 2026 (17 maanden van € 140,00): € 2.380,00" in nl
    )
    assert "Montant mensuel : 140,00 €" in fr and "Date : 6 novembre 2026" in fr
    assert "U moet in totaal € 2.660,00 terugbetalen." in flat(letter_text(sample, *PICKED["recovery-nl"]))
    assert "La succession doit rembourser 280,00 € au total." in flat(letter_text(sample, *PICKED["recovery-fr"]))
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


@pytest.mark.slow  # three more sample nights; at two members every test run has it (docs/testing.md)
def test_the_same_night_on_a_fresh_state_gives_byte_identical_letters(sample, tmp_path):
    run_sample(tmp_path / "out", tmp_path / "state.duckdb", nights=NIGHTS[:3], invoices=False)
    for night in NIGHTS[:3]:  # the payment night's recovery letters with their references
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
    assert report["letters"]["by_kind"]["L-REQUEST"] == 13


# --- L-ADDRESSEE ------------------------------------------------------------------------------------------------------


def test_a_letter_about_a_member_who_died_goes_to_the_heirs_in_the_past_tense(sample):
    """L-ADDRESSEE: S14 died on 20 August 2026; the letters of November speak of the member in the third person."""
    for name in ("decision-fr", "recovery-fr"):
        text = flat(letter_text(sample, *PICKED[name]))
        assert "Aux héritiers de feu Scenario S14 Rue de l'Église 12" in text, name
        assert "Décédé(e) le : 20 août 2026" in text and "Mesdames, Messieurs," in text, name
        assert "Madame, Monsieur," not in text and "votre budget" not in text.lower(), name
    assert "Elle y avait droit de juillet 2025 à août 2026 inclus." in flat(letter_text(sample, *PICKED["decision-fr"]))
    assert "La succession doit rembourser 280,00 € au total." in flat(letter_text(sample, *PICKED["recovery-fr"]))


def test_a_letter_about_a_minor_goes_to_the_parents(sample):
    """L-ADDRESSEE: the child born on 1 September 2022 is 4 on the letter's date."""
    for name in ("recovery-nl", "stop-scale-ended-nl"):
        text = flat(letter_text(sample, *PICKED[name]))
        assert "Aan de ouders of de wettelijke vertegenwoordiger van Senne Van Damme Lindenlaan 172" in text, name
        assert "Geachte ouders, geachte vertegenwoordiger," in text, name
        assert "Geachte mevrouw, geachte heer" not in text, name
    assert "Het kind had recht van november 2024" in flat(letter_text(sample, *PICKED["stop-scale-ended-nl"]))


def test_an_adult_alive_on_the_letters_date_is_written_to_directly(sample):
    text = flat(letter_text(sample, *PICKED["decision-nl"]))
    assert "Geachte mevrouw, geachte heer," in text and "erfgenamen" not in text and "ouders" not in text


# --- L-REASON -------------------------------------------------------------------------------------------------------

GENERIC = "De maand ligt niet binnen een periode met recht"
REASONS = [
    # name                       the fact, with its record and dates
    ("stop-scale-ended-nl",      "De beslissing over de zorgtoeslag die de zorgnood aantoonde, geldt niet meer. Gegevens: medisch-sociale schaal geldig vanaf 30 oktober 2022, zorgtoeslag, score 22, tot 24 maart 2025, ref. MS000000033"),
    ("cancel-record-gone-nl",    "Het gegeven waarop onze vorige beslissing steunde, komt niet meer voor in de gegevens die de zorgkas ontvangt. Gegevens: medisch-sociale schaal, ref. MS000000013"),
    ("cancel-newer-screener-nl", "Een nieuwere BelRAI Screener toont geen zware zorgnood die recht geeft op dit zorgbudget. Gegevens: BelRAI Screener van 20 mei 2026, andere dienst, score 5, ref. BR000000132"),
    ("decision-fr",              "Le titulaire du budget de soins est décédé : le budget de soins court jusqu'au mois du décès inclus. Données : données de la caisse d'assurance soins : 20 août 2026, décès"),
    ("recovery-nl",              "Gegevens: medisch-sociale schaal geldig vanaf 30 oktober 2022, zorgtoeslag, score 22, tot 24 maart 2025, ref. MS000000033"),
]  # fmt: skip


@pytest.mark.parametrize("name, fact", REASONS, ids=[r[0] for r in REASONS])
def test_a_stop_cancel_or_recovery_names_the_fact_that_changed(sample, name, fact):
    """L-REASON: the fact with its record and dates, never only the generic sentence of ZZB-START."""
    text = flat(letter_text(sample, *PICKED[name]))
    assert fact in text
    assert GENERIC not in text


@pytest.mark.parametrize(
    "name, decision",
    [
        ("decision-by-hand-nl", "Uw zorgkas heeft u dit zorgbudget voor deze maanden toegekend op uw aanvraag"),
        (
            "decision-on-appeal-nl",
            "Het Agentschap Vlaamse Sociale Bescherming heeft u dit zorgbudget voor deze maanden",
        ),
    ],
)
def test_a_grant_by_hand_or_on_appeal_gives_the_decision_as_its_ground_not_a_failing_automatic_rule(
    sample, name, decision
):
    """rules.md §10: the automatic rules do not re-judge a month granted by hand or on appeal, so its L-DECISION names
    the decision, not ZZB-START's "the month lies in no period with a right" (issue 21's known bug), nor any other
    automatic rule that fails in those months (S18: no ground, a stay outside Flanders)."""
    text = flat(letter_text(sample, *PICKED[name]))
    assert decision in text
    assert GENERIC not in text and "(ZZB-START)" not in text


def test_a_new_grant_from_the_windows_first_month_says_earlier_months_are_not_decided(sample):
    """L-REASON: S01's right starts in June 2025, inside the window: no such sentence; a BOB right from the window's
    first month (November 2024) says it, and the letter states the months and the amount paid."""
    assert "Eerdere maanden maken er geen deel van uit" not in flat(letter_text(sample, *PICKED["decision-nl"]))
    letters = letters_of(sample, "nightly/2026-10-26").filter(pl.col("subject") == "BOB NEW 2024-11")
    assert letters.height
    text = flat(text_of(sample, "nightly/2026-10-26", letters.row(0, named=True)))
    assert (
        "Deze beslissing gaat over de maanden vanaf november 2024. Eerdere maanden maken er geen deel van uit" in text
    )
    assert "november 2024 tot en met oktober 2026 (24 maanden van € 300,00): € 7.200,00" in text


# --- L-RECOVERY and L-INVOICE: how to pay, and the EPC QR code -----------------------------------------------------


def epc_fields(payload: str) -> list[str]:
    return payload.split("\n")


def qr_codes(pdf: Path, page: int, tmp_path: Path) -> list[str]:
    """The QR codes on a page of a PDF, read back with zxing-cpp from a 200 dpi rendering (poppler's pdftoppm)."""
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    stem = tmp_path / f"page-{page}"
    subprocess.run(
        ["pdftoppm", "-r", "200", "-f", str(page), "-l", str(page), "-png", "-singlefile", str(pdf), str(stem)],
        check=True,
    )
    return [found.text for found in zxingcpp.read_barcodes(Image.open(f"{stem}.png")) if found.format.name == "QRCode"]


def letter_row(out: Path, run: str, insz: str, kind: str) -> dict:
    rows = letters_of(out, run).filter((pl.col("insz") == insz) & (pl.col("kind") == kind))
    assert rows.height == 1
    return rows.row(0, named=True)


def test_a_recovery_letter_says_how_to_pay_back(sample, tmp_path):
    """L-RECOVERY: the zorgkas account, a structured reference of its own, the date by which to pay (the letter's date
    + recovery_due_days, 60), a payment plan or a waiver; and an EPC QR code that decodes to the same."""
    from stdnum.be import ogm_vcs

    run, insz, kind = PICKED["recovery-nl"]
    text = flat(letter_text(sample, run, insz, kind))
    assert "Rekening van de zorgkas: BE72 7351 0000 0116 BIC: VSBZBEB1" in text
    assert "Uiterlijk op: 25 januari 2027" in text  # 26 November 2026 + 60 days
    assert "afbetalingsplan" in text and "af te zien" in text
    assert "Wij verrekenen het niet met betalingen aan andere personen" not in text
    reference = text.split("Gestructureerde mededeling: ")[1].split()[0]
    assert ogm_vcs.is_valid(reference) and reference.startswith("+++9")  # 9: a recovery, never an invoice's base
    invoices = pl.read_parquet(sample / INVOICES / "ZK100" / "invoices.parquet")
    assert reference not in set(invoices["structured_reference"])
    row = letter_row(sample, run, insz, kind)
    assert (row["structured_reference"], row["due_date"]) == (reference, D(2027, 1, 25))  # for the zorgkas to match
    codes = qr_codes(sample / run / row["zorgkas"] / row["file"], row["first_page"], tmp_path)
    assert len(codes) == 1
    fields = epc_fields(codes[0])
    assert fields[:8] == ["BCD", "002", "1", "SCT", "VSBZBEB1", "Zorgkas CM", "BE72735100000116", "EUR2660.00"]
    assert fields[9] == reference.strip("+").replace("/", "")


def test_every_recovery_reference_is_its_own_and_the_same_in_a_rerun(sample):
    """L-RECOVERY: no two recovery letters share a reference, none equals an invoice reference of its zorgkas (the
    9 that opens a recovery base is above every invoice base), and a rerun gives the same (byte-identical letters)."""
    from stdnum.be import ogm_vcs

    found = set()
    for row in letters_of(sample, "nightly/2026-11-26").filter(pl.col("kind") == "L-RECOVERY").iter_rows(named=True):
        text = flat(text_of(sample, "nightly/2026-11-26", row))
        reference = (
            text.split("Gestructureerde mededeling: ")[-1].split()[0]
            if row["language"] == "NL"
            else (text.split("Communication structurée : ")[-1].split()[0])
        )
        assert ogm_vcs.is_valid(reference), reference
        invoices = pl.read_parquet(sample / INVOICES / row["zorgkas"] / "invoices.parquet")
        assert reference not in set(invoices["structured_reference"])
        assert (row["zorgkas"], reference) not in found  # unique within the zorgkas, as an invoice's (P-REFERENCE)
        found.add((row["zorgkas"], reference))
    assert found


@pytest.mark.parametrize("name", ["invoice-nl", "invoice-fr"])
def test_the_invoices_epc_qr_code_decodes_to_its_iban_amount_and_reference(sample, tmp_path, name):
    """L-INVOICE: the EPC QR code (EPC069-12 version 002, UTF-8, SCT) decodes, with a QR reader, to the zorgkas's BIC,
    name and IBAN, the invoice's amount and its structured communication (12 digits, structured remittance line)."""
    run, insz, kind = PICKED[name]
    row = letter_row(sample, run, insz, kind)
    invoice = (
        pl.read_parquet(sample / run / row["zorgkas"] / "invoices.parquet")
        .filter(pl.col("insz") == insz)
        .row(0, named=True)
    )
    assert (row["structured_reference"], row["due_date"]) == (invoice["structured_reference"], invoice["due_date"])
    codes = qr_codes(sample / run / row["zorgkas"] / row["file"], row["first_page"], tmp_path)
    assert len(codes) == 1
    fields = epc_fields(codes[0])
    assert fields[:4] == ["BCD", "002", "1", "SCT"]
    assert fields[4:7] == ["VSBZBEB1", "Zorgkas CM", "BE72735100000116"]
    assert fields[7] == f"EUR{invoice['amount']}"
    assert fields[8] == "" and fields[9] == invoice["structured_reference"].strip("+").replace("/", "")
    assert len(fields) == 10  # no unstructured remittance line: the structured one is given


# --- the small things -------------------------------------------------------------------------------------------------


def test_every_page_carries_the_letter_id_and_its_page_of_the_letter(sample):
    files = {}
    for run in (*[f"nightly/{n}" for n in NIGHTS[:3]], INVOICES):
        for row in letters_of(sample, run).iter_rows(named=True):
            pdf = sample / run / row["zorgkas"] / row["file"]
            files[pdf] = files.get(pdf) or pages(pdf)
            found = files[pdf][row["first_page"] - 1 : row["first_page"] - 1 + row["pages"]]
            for number, page in enumerate(found, start=1):
                last = [line for line in page.splitlines() if line.strip()][-1].split()
                assert last == [row["letter_id"], f"{number}/{row['pages']}"], (run, row["letter_id"], last)


def test_french_puts_a_space_before_every_colon_and_dutch_none(sample):
    """French colon spacing, consistent in every letter (a no-break space in the texts: pdftotext reads it back as a
    plain space; tests/emit/test_letters.py checks the character itself)."""
    for run in ("nightly/2026-11-06", "nightly/2026-11-26"):
        for row in letters_of(sample, run).iter_rows(named=True):
            text = text_of(sample, run, row)
            if row["language"] == "FR":
                assert not re.search(r"\S:", text), (row["letter_id"], re.findall(r".{12}\S:", text)[:3])
            else:
                assert not re.search(r"\s:", text), (row["letter_id"], re.findall(r".{12}\s:", text)[:3])


def test_the_appeal_names_the_agencys_web_and_postal_address(sample):
    nl, fr = flat(letter_text(sample, *PICKED["decision-nl"])), flat(letter_text(sample, *PICKED["decision-fr"]))
    assert (
        "met het onlineformulier op www.vlaamsesocialebescherming.be, of met een brief aan Koning Albert II-laan 35 bus 37, 1030 Schaarbeek."
        in nl
    )
    assert (
        "avec le formulaire en ligne sur www.vlaamsesocialebescherming.be, ou par lettre à l'adresse Koning Albert II-laan 35 bus 37, 1030 Schaerbeek."
        in fr
    )


# --- the stop reasons the sample does not hold, built from the rules' own frames --------------------------------------

BUILT = {
    # name: (what fails from July 2026, the records) — the grant: a BelRAI right of January to June 2026
    "stop-affiliation-ended-nl": ("E-AFFILIATED", "Gegevens: gegevens van de zorgkas: 30 juni 2026, einde van de aansluiting"),
    "stop-stay-ended-nl": ("G-FACILITY", "Uw verblijf in het woonzorgcentrum of psychiatrisch verzorgingstehuis is beëindigd. Gegevens: verblijf sinds 10 januari 2024, woonzorgcentrum, tot 15 juni 2026, ref. FS-1"),
    "stop-vaph-started-nl": ("X-VAPH-PVB", "U hebt een persoonsvolgend budget van het VAPH; dat kan niet samen met dit zorgbudget. Gegevens: VAPH-dossier vanaf 20 juni 2026, persoonsvolgend budget, ref. V-1"),
    "stop-residence-nl": ("E-RESIDENCE", "Gegevens: rijksregister, woonplaats vanaf 1 juli 2026, Wallonië"),
}  # fmt: skip


def built_stop(name: str, tmp_path: Path) -> str:
    """The text of a STOPPED decision letter whose grant (January to June 2026) stops for the reason `name`."""
    from flows.io.letters import render_letters
    from flows.reference import load_reference
    from pipelines.emit.letters.content import decision_letters
    from pipelines.emit.letters.motivation import evidence_records, member_records, motivation, residence_records
    from tests.emit.test_motivation import events, feeds, periods

    insz, code = "85073112305", BUILT[name][0]
    f = feeds()
    stays = f["stays"].with_columns(
        pl.lit(insz).alias("insz"),
        pl.lit(None, pl.String).alias("special_category"),
        pl.lit(D(2024, 1, 10)).alias("admission_date"),
        pl.lit(D(2026, 6, 15)).alias("discharge_date"),
    )
    vaph = pl.DataFrame(
        {
            "record_id": ["V-1"],
            "insz": [insz],
            "support_kind": ["PVB"],
            "start_date": [D(2026, 6, 20)],
            "end_date": [None],
        },
        schema_overrides={"end_date": pl.Date},
    )
    ground = "facility_stays:FS-1" if code == "G-FACILITY" else "belrai_screeners:BS-1"
    screeners = f["screeners"].with_columns(pl.lit(insz).alias("insz"))
    holds = ["G-FACILITY" if code == "G-FACILITY" else "G-BELRAI", "ZZB-START", "E-AFFILIATED", "E-RESIDENCE"]
    after = {
        "E-AFFILIATED": (holds[:2], ["E-AFFILIATED"], [ground]),
        "G-FACILITY": ([], ["ZZB-START"], []),
        "X-VAPH-PVB": (holds[:2], ["X-VAPH-PVB"], [ground, "vaph_support:V-1"]),
        "E-RESIDENCE": (holds[:2], ["E-RESIDENCE"], [ground]),
    }[code]
    decided = periods(
        [
            (insz, "ZZB", D(2026, 1, 1), D(2026, 6, 1), True, holds, [], [ground]),
            (insz, "ZZB", D(2026, 7, 1), D(2026, 11, 1), False, *after),
        ]
    )
    members = pl.DataFrame(
        {
            "insz": [insz],
            "name": ["Jan Peeters"],
            "language": ["NL"],
            "street": ["Kerkstraat 1"],
            "postal_code": ["9000"],
            "city": ["Gent"],
            "birth_date": [D(1950, 3, 1)],
            "death_date": [None],
            "affiliation_end": [D(2026, 6, 30) if code == "E-AFFILIATED" else None],
        },
        schema_overrides={"death_date": pl.Date, "affiliation_end": pl.Date},
    )
    residence = pl.DataFrame(
        {
            "insz": [insz, insz],
            "region": ["VL", "WAL"],
            "start_date": [D(1990, 1, 1), D(2026, 7, 1)],
            "end_date": [D(2026, 6, 30), None],
        }
    )
    records = pl.concat(
        [
            evidence_records(screeners, f["scales"], stays, vaph, pl.DataFrame({"insz": [insz]}), D(2017, 1, 1)),
            member_records(members),
            residence_records(residence),
        ]
    )
    stopped = events([(insz, "ZZB", "STOPPED", D(2026, 1, 1), D(2026, 6, 1))]).with_columns(
        pl.lit([ground]).alias("evidence")
    )
    reasons = motivation(stopped, decided, records, D(2026, 11, 1))
    terms = appeal_terms(D(2026, 11, 26), 90, 5, Decimal("75.00"), Decimal("37.50"))
    letters = decision_letters(
        stopped,
        pl.DataFrame(schema={"insz": pl.String, "budget": pl.String, "month": pl.Date, "amount": pl.Decimal(12, 2)}),
        reasons,
        members,
        terms,
    )
    rows = render_letters(letters, tmp_path, load_reference().zorgkassen, workers=1)
    lines = [line.rstrip() for page in pages(tmp_path / rows["file"][0]) for line in page.splitlines()]
    return "\n".join(line for line in lines if line.strip()) + "\n"


@pytest.mark.parametrize("name", list(BUILT))
def test_golden_stop_reason(name, tmp_path):
    """L-REASON for the reasons the sample does not hold: the fact, its record and dates, in a rendered letter."""
    text = built_stop(name, tmp_path)
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("VSB_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()
    assert BUILT[name][1] in flat(text)
    assert GENERIC not in text

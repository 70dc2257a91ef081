"""Named, reviewed persons added to the sample landing zone: one situation per rule family.

The random generator rarely puts an exclusion, a transition rule or an absence budget on a
person who also has a care-need ground; these persons do, on purpose, so that the sample run
shows every rule family and tests/e2e/test_golden.py can compare their decision records with
reviewed golden files. Each scenario says what the rules must give for a run in November 2026
(window 2024-12 to 2026-11); the golden files were checked against these statements.

Pure data: rows per feed, the same in every delivery on or after 2026-10-01, but a member row that a scenario
changes from a later delivery on (`member_from`: news that comes late).
"""

from __future__ import annotations

import datetime as dt

D = dt.date
IBAN = "BE72735100000116"  # valid: mod 97 and Belgian account check digits


def insz_of(birth: dt.date, counter: int) -> str:
    """A national number for a birth date and a day counter, with its check digits (docs/spec/rules.md R-ID)."""
    base = f"{birth:%y%m%d}{counter:03d}"
    prefixed = int(("2" if birth.year >= 2000 else "") + base)
    return f"{base}{97 - prefixed % 97:02d}"


# the letters' language and postal address (members' optional columns): a Flemish address in Dutch unless
# the scenario says otherwise
ADDRESS = {"language": "NL", "postal_code": "3000", "city": "Leuven", "country": "BE"}
BRUSSELS_FR = {"language": "FR", "postal_code": "1050", "city": "Ixelles", "country": "BE"}


def _person(code: str, birth: dt.date, zorgkas: str, **member) -> dict:
    address = ADDRESS | {"street": f"Bondgenotenlaan {int(code[1:])}"}
    return (
        {
            "insz": insz_of(birth, 990 + int(code[1:]) % 9),
            "zorgkas": zorgkas,
            "name": f"Scenario {code}",
            "birth_date": birth,
            "death_date": None,
            "domicile_region": "VL",
            "affiliation_basis": "RESIDENT_VL",
            "affiliation_start": max(D(birth.year + 18, 1, 1), birth) if birth.year < 2000 else birth,
            "affiliation_end": None,
            "eu_insured_since": None,
            "iban": IBAN,
        }
        | address
        | member
    )


def _screener(assessment_id: str, day: dt.date, total: float) -> dict:
    """A recognised home-care screener whose total alone proves the care need (G-BELRAI)."""
    return dict(
        assessment_id=assessment_id,
        assessment_date=day,
        service_kind="GEZINSZORG",
        service_recognised=True,
        total_score=total,
        adl_score=2.0,
        iadl_score=2.0,
        valid_until=None,
    )


def _stay(stay_id: str, kind: str, region: str, recognised: bool, admission: dt.date, **more) -> dict:
    facility = f"{kind}-{region}-{stay_id.removeprefix('SC-FS-')}"
    row = dict(stay_id=stay_id, facility_id=facility, facility_kind=kind, facility_region=region)
    row |= dict(recognised_by_flanders=recognised, admission_date=admission)
    return row | {"discharge_date": more.get("discharge"), "special_category": more.get("special")}


def _case(record_id: str, kind: str, budget: str, **values) -> dict:
    """A case_decisions row (docs/spec/feeds.md): the columns a kind does not use are null."""
    row = dict(record_id=record_id, budget=budget, kind=kind, received_date=None, decided_date=None, refers_to=None)
    return row | dict(first_month=None, last_month=None) | values


def _application(record_id: str, received: dt.date, budget: str = "ZZB") -> dict:
    return _case(record_id, "APPLICATION", budget, received_date=received)


def _grant(record_id: str, application: str, decided: dt.date, first: dt.date, last: dt.date | None = None) -> dict:
    return _case(record_id, "GRANT", "ZZB", decided_date=decided, refers_to=application, first_month=first,
                 last_month=last)  # fmt: skip


def _refusal(record_id: str, application: str, decided: dt.date, budget: str = "ZZB") -> dict:
    return _case(record_id, "REFUSAL", budget, decided_date=decided, refers_to=application)


def _end(record_id: str, decided: dt.date, first: dt.date) -> dict:
    return _case(record_id, "END", "ZZB", decided_date=decided, first_month=first)


def _appeal(record_id: str, received: dt.date, contested: str, budget: str = "ZZB") -> dict:
    return _case(record_id, "APPEAL", budget, received_date=received, refers_to=contested)


def _appeal_outcome(record_id: str, appeal: str, decided: dt.date, budget: str = "ZZB", first=None) -> dict:
    """APPEAL_GRANT from `first` (open), or APPEAL_REFUSAL without `first`."""
    kind = "APPEAL_REFUSAL" if first is None else "APPEAL_GRANT"
    return _case(record_id, kind, budget, decided_date=decided, refers_to=appeal, first_month=first)


def _delivered(feed: str, row: dict, delivery: dt.date) -> bool:
    """A case row is in the deliveries on or after the day it records (the feed only grows); other rows always."""
    if feed != "case_decisions":
        return True
    return (row["received_date"] or row["decided_date"]) <= delivery


# code: (what it shows, the person, rows of the other feeds without insz)
SCENARIOS: dict[str, dict] = {
    "S01": {
        "shows": "G-BELRAI: screener of 2025-02-10 (total 14): right from 2025-06, entitled to November 2026",
        "member": _person("S01", D(1940, 3, 10), "ZK100"),
        "belrai_screeners": [
            dict(
                assessment_id="SC-BR-01",
                assessment_date=D(2025, 2, 10),
                service_kind="GEZINSZORG",
                service_recognised=True,
                total_score=14.0,
                adl_score=2.0,
                iadl_score=2.0,
                valid_until=None,
            )
        ],
    },
    "S02": {
        "shows": "G-MEDSOC superseded: THAB 16 from 2024-06-01, a newer THAB 10 from 2026-03-01 ends the "
        "ground on 2026-02-28: entitled 2024-12 to 2026-02",
        "member": _person("S02", D(1938, 11, 2), "ZK200"),
        "medsoc_scales": [
            dict(
                decision_id="SC-MS-02A",
                scale_kind="THAB",
                decision_date=D(2024, 5, 20),
                valid_from=D(2024, 6, 1),
                valid_until=None,
                score=16.0,
                pillar_1=None,
                pillar_2=None,
                pillar_3=None,
            ),
            dict(
                decision_id="SC-MS-02B",
                scale_kind="THAB",
                decision_date=D(2026, 2, 15),
                valid_from=D(2026, 3, 1),
                valid_until=None,
                score=10.0,
                pillar_1=None,
                pillar_2=None,
                pillar_3=None,
            ),
        ],
    },
    "S03": {
        "shows": "G-ZTK: a child, pillars 6+8+5 = 19 from 2025-09-01: right from 2026-01; E-RESIDENCE as a minor",
        "member": _person("S03", D(2015, 5, 5), "ZK300"),
        "medsoc_scales": [
            dict(
                decision_id="SC-MS-03",
                scale_kind="ZTK",
                decision_date=D(2025, 8, 20),
                valid_from=D(2025, 9, 1),
                valid_until=None,
                score=None,
                pillar_1=6.0,  # at most 6 (ztk_pillar_1_max)
                pillar_2=8.0,
                pillar_3=5.0,
            )
        ],
    },
    "S04": {
        "shows": "G-BELRAI then G-FACILITY: home care from 2024-08-01 to 2024-11-30, a WZC from 2024-11-20: "
        "one episode, right from 2024-12 with no new delay",
        "member": _person("S04", D(1935, 1, 20), "ZK400"),
        "belrai_screeners": [
            dict(
                assessment_id="SC-BR-04",
                assessment_date=D(2024, 8, 1),
                service_kind="GEZINSZORG",
                service_recognised=True,
                total_score=11.0,
                adl_score=3.0,
                iadl_score=3.0,
                valid_until=D(2024, 11, 30),
            )
        ],
        "facility_stays": [
            dict(
                stay_id="SC-FS-04",
                facility_id="WZC-VL-SC04",
                facility_kind="WZC",
                facility_region="VL",
                recognised_by_flanders=True,
                admission_date=D(2024, 11, 20),
                discharge_date=None,
                special_category=None,
            )
        ],
    },
    "S05": {
        "shows": "E-ALIVE: right from 2025-05 (screener 2025-01-05), died 2026-07-14: the month of death is paid, "
        "August 2026 is not",
        "member": _person("S05", D(1931, 9, 9), "ZK500", death_date=D(2026, 7, 14)),
        "belrai_screeners": [
            dict(
                assessment_id="SC-BR-05",
                assessment_date=D(2025, 1, 5),
                service_kind="AANVULLENDE_THUISZORG",
                service_recognised=True,
                total_score=13.0,
                adl_score=1.0,
                iadl_score=1.0,
                valid_until=None,
            )
        ],
    },
    "S06": {
        "shows": "E-RESIDENCE fails: in Flanders only since 2023-03-01, not EU-insured: not entitled, "
        "W-CHECK-RESIDENCE",
        "member": _person("S06", D(1950, 4, 4), "ZK600", affiliation_start=D(2023, 3, 1)),
        "residence_periods": [
            dict(region="ABROAD", start_date=D(1950, 4, 4), end_date=D(2023, 2, 28)),
            dict(region="VL", start_date=D(2023, 3, 1), end_date=None),
        ],
        "belrai_screeners": [
            dict(
                assessment_id="SC-BR-06",
                assessment_date=D(2025, 3, 3),
                service_kind="GEZINSZORG",
                service_recognised=True,
                total_score=15.0,
                adl_score=3.0,
                iadl_score=3.0,
                valid_until=None,
            )
        ],
    },
    "S07": {
        "shows": "E-WAITING: Brussels voluntary member (domicile since 1990) affiliated late on 2022-05-01: "
        "not entitled before 2027-05-01",
        "member": _person(
            "S07",
            D(1960, 6, 6),
            "ZK100",
            domicile_region="BXL",
            affiliation_basis="RESIDENT_BXL",
            affiliation_start=D(2022, 5, 1),
            **BRUSSELS_FR,
            street="Rue du Trône 7",
        ),
        "residence_periods": [
            dict(region="VL", start_date=D(1960, 6, 6), end_date=D(1989, 12, 31)),
            dict(region="BXL", start_date=D(1990, 1, 1), end_date=None),
        ],
        "belrai_screeners": [
            dict(
                assessment_id="SC-BR-07",
                assessment_date=D(2024, 6, 1),
                service_kind="GEZINSZORG",
                service_recognised=True,
                total_score=16.0,
                adl_score=3.0,
                iadl_score=3.0,
                valid_until=None,
            )
        ],
    },
    "S08": {
        "shows": "X-VAPH-PVB: an adult with a screener right from 2024-11, a PVB from 2025-10-01: entitled to "
        "September 2025, excluded from October 2025",
        "member": _person("S08", D(1980, 2, 2), "ZK200"),
        "belrai_screeners": [
            dict(
                assessment_id="SC-BR-08",
                assessment_date=D(2024, 7, 7),
                service_kind="GEZINSZORG",
                service_recognised=True,
                total_score=13.5,
                adl_score=2.0,
                iadl_score=2.0,
                valid_until=None,
            )
        ],
        "vaph_support": [
            dict(
                record_id="SC-VA-08",
                support_kind="PVB",
                start_date=D(2025, 10, 1),
                end_date=None,
                school_year=None,
                absence_days=None,
            )
        ],
    },
    "S09": {
        "shows": "T-NRTH-2017: an adult with IT 18 and NRTH since 2015: every month in the right is left to "
        "the zorgkas (PENDING), W-NRTH-TRANSITION",
        "member": _person("S09", D(1975, 12, 12), "ZK300"),
        "medsoc_scales": [
            dict(
                decision_id="SC-MS-09",
                scale_kind="IT",
                decision_date=D(2023, 1, 10),
                valid_from=D(2023, 1, 1),
                valid_until=None,
                score=18.0,
                pillar_1=None,
                pillar_2=None,
                pillar_3=None,
            )
        ],
        "vaph_support": [
            dict(
                record_id="SC-VA-09",
                support_kind="NRTH",
                start_date=D(2015, 1, 1),
                end_date=None,
                school_year=None,
                absence_days=None,
            )
        ],
    },
    "S10": {
        "shows": "X-SPECIAL-STAY: a screener right from 2024-10 and a WZC stay as COMA_NAH from 2026-02-01: "
        "excluded from February 2026, W-APPLY-SPECIAL",
        "member": _person("S10", D(1970, 8, 8), "ZK400"),
        "belrai_screeners": [
            dict(
                assessment_id="SC-BR-10",
                assessment_date=D(2024, 6, 15),
                service_kind="GEZINSZORG",
                service_recognised=True,
                total_score=17.0,
                adl_score=3.0,
                iadl_score=3.0,
                valid_until=None,
            )
        ],
        "facility_stays": [
            dict(
                stay_id="SC-FS-10",
                facility_id="WZC-VL-SC10",
                facility_kind="WZC",
                facility_region="VL",
                recognised_by_flanders=True,
                admission_date=D(2026, 2, 1),
                discharge_date=None,
                special_category="COMA_NAH",
            )
        ],
    },
    "S11": {
        "shows": "G-ABSENCE: a child with a ZTK right since 2024 in an MFC full time (X-VAPH-MFC), 120 days "
        "absent in school year 2024: two budgets due on 2025-08-31",
        "member": _person("S11", D(2012, 10, 10), "ZK500"),
        "medsoc_scales": [
            dict(
                decision_id="SC-MS-11",
                scale_kind="ZTK",
                decision_date=D(2023, 12, 1),
                valid_from=D(2024, 1, 1),
                valid_until=None,
                score=None,
                pillar_1=6.0,  # at most 6 (ztk_pillar_1_max)
                pillar_2=7.0,
                pillar_3=7.0,
            )
        ],
        "vaph_support": [
            dict(
                record_id="SC-VA-11",
                support_kind="MFC_FULLTIME",
                start_date=D(2024, 9, 1),
                end_date=None,
                school_year=2024,
                absence_days=120,
            )
        ],
    },
    "S12": {
        "shows": "G-BOB and X-BOB-PAB: a child with a support need since 2024-02-10 (BOB right from 2024-03) "
        "and a PAB from 2025-07-01: BOB entitled to June 2025, excluded after",
        "member": _person("S12", D(2014, 1, 15), "ZK600"),
        "vaph_support": [
            dict(
                record_id="SC-VA-12A",
                support_kind="SUPPORT_NEED",
                start_date=D(2024, 2, 10),
                end_date=None,
                school_year=None,
                absence_days=None,
            ),
            dict(
                record_id="SC-VA-12B",
                support_kind="PAB",
                start_date=D(2025, 7, 1),
                end_date=None,
                school_year=None,
                absence_days=None,
            ),
        ],
    },
    "S13": {
        "shows": "W-APPLY-FACILITY: a WZC in Brussels and no automatic ground: not entitled, must apply",
        "member": _person("S13", D(1936, 3, 3), "ZK100", **BRUSSELS_FR, street="Avenue Louise 113"),
        "facility_stays": [
            dict(
                stay_id="SC-FS-13",
                facility_id="WZC-BXL-SC13",
                facility_kind="WZC",
                facility_region="BXL",
                recognised_by_flanders=False,
                admission_date=D(2025, 4, 1),
                discharge_date=None,
                special_category=None,
            )
        ],
    },
    "S14": {
        "shows": "PAY-RECOVERY, letters in French: a screener right from 2025-07 paid on the payment night of "
        "October 2026; the death on 2026-08-20 comes in the delivery of 2026-11-01: the grant stops after August "
        "2026 (E-ALIVE) and September and October 2026 are recovered on the payment night of November",
        "member": _person(
            "S14",
            D(1999, 12, 28),
            "ZK300",
            language="FR",
            street="Rue de l'Église 12",
            postal_code="1970",
            city="Wezembeek-Oppem",
        ),
        "member_from": {D(2026, 11, 1): {"death_date": D(2026, 8, 20)}},
        "belrai_screeners": [
            dict(
                assessment_id="SC-BR-14",
                assessment_date=D(2025, 3, 3),
                service_kind="AANVULLENDE_THUISZORG",
                service_recognised=True,
                total_score=15.0,
                adl_score=3.0,
                iadl_score=2.5,
                valid_until=None,
            )
        ],
    },
    # rules.md §10: applications, decisions by hand and appeals (feed case_decisions). A case row is delivered from
    # the first delivery on or after its received_date or decided_date (the feed only grows: `scenario_rows`).
    "S15": {
        "shows": "M-APPLICATION: a WZC in Brussels not recognised by Flanders since 2025-09-01 (W-APPLY-FACILITY and "
        "its L-REQUEST on 2026-10-26); the application received on 2026-10-20 (delivery of 2026-11-01) is open on "
        "2026-11-26: W-APPLICATION-OPEN since 2026-10-20, due 2027-01-18, and no W-APPLY-FACILITY any more",
        "member": _person("S15", D(1937, 5, 15), "ZK100"),
        "facility_stays": [_stay("SC-FS-15", "WZC", "BXL", False, D(2025, 9, 1))],
        "case_decisions": [_application("SC-CD-15", D(2026, 10, 20))],
    },
    "S16": {
        "shows": "W-APPLICATION-OVERDUE: a special stay (WZC, MS_ALS_HUNTINGTON) since 2026-05-04 and an application "
        "received on 2026-08-03 that the zorgkas has not decided: open on 2026-10-26, past its term (due 2026-11-01) "
        "from 2026-11-02: W-APPLICATION-OVERDUE since 2026-08-03 on 2026-11-26; no W-APPLY-SPECIAL (applied)",
        "member": _person("S16", D(1958, 7, 16), "ZK200"),
        "facility_stays": [_stay("SC-FS-16", "WZC", "VL", True, D(2026, 5, 4), special="MS_ALS_HUNTINGTON")],
        "case_decisions": [_application("SC-CD-16", D(2026, 8, 3))],
    },
    "S17": {
        "shows": "M-GRANT over automatic months (M-ENTITLED, PAY-ONCE): granted by hand from 2025-02 (open), and a "
        "screener of 2025-02-10 (total 14) gives the automatic right from 2025-06: entitled 2025-02 to 2026-11, "
        "by hand only 2025-02 to 2025-05, both ways from 2025-06 (the record lists both), each month paid once",
        "member": _person("S17", D(1941, 4, 17), "ZK200"),
        "belrai_screeners": [_screener("SC-BR-17", D(2025, 2, 10), 14.0)],
        "case_decisions": [
            _application("SC-CD-17", D(2025, 1, 15)),
            _grant("SC-CD-17G", "SC-CD-17", D(2025, 3, 20), D(2025, 2, 1)),
        ],
    },
    "S18": {
        "shows": "M-GRANT alone: a PVT in Wallonia since 2025-03-10 and no automatic ground; the zorgkas granted "
        "from 2025-04 (open) on 2025-06-16: entitled 2025-04 to 2026-11 by hand, M-GRANT in the grounds, no "
        "W-APPLY-FACILITY (the month is granted by hand)",
        "member": _person("S18", D(1944, 8, 18), "ZK300"),
        "facility_stays": [_stay("SC-FS-18", "PVT", "WAL", False, D(2025, 3, 10))],
        "case_decisions": [
            _application("SC-CD-18", D(2025, 4, 2)),
            _grant("SC-CD-18G", "SC-CD-18", D(2025, 6, 16), D(2025, 4, 1)),
        ],
    },
    "S19": {
        "shows": "M-END then a new GRANT: granted by hand from 2024-10, ended from 2025-09 (left the Brussels WZC on "
        "2025-08-15), granted again from 2026-02 (back in a WZC since 2026-01-05): entitled 2024-12 to 2025-08 and "
        "2026-02 to 2026-11, not 2025-09 to 2026-01",
        "member": _person("S19", D(1939, 10, 19), "ZK400"),
        "facility_stays": [
            _stay("SC-FS-19A", "WZC", "BXL", False, D(2024, 9, 2), discharge=D(2025, 8, 15)),
            _stay("SC-FS-19B", "WZC", "BXL", False, D(2026, 1, 5)),
        ],
        "case_decisions": [
            _application("SC-CD-19A", D(2024, 9, 10)),
            _grant("SC-CD-19AG", "SC-CD-19A", D(2024, 11, 5), D(2024, 10, 1)),
            _end("SC-CD-19E", D(2025, 8, 25), D(2025, 9, 1)),
            _application("SC-CD-19B", D(2026, 1, 12)),
            _grant("SC-CD-19BG", "SC-CD-19B", D(2026, 3, 2), D(2026, 2, 1)),
        ],
    },
    "S20": {
        "shows": "M-APPEAL after a zorgkas END: granted by hand from 2024-07, the zorgkas ended it from 2025-11 "
        "(decided 2025-10-15), the agency granted the appeal of 2025-11-20 on 2026-03-10 from 2025-11 (open): the "
        "appeal is applied after the END, entitled 2024-12 to 2026-11, M-APPEAL in the grounds",
        "member": _person("S20", D(1946, 11, 20), "ZK500"),
        "case_decisions": [
            _application("SC-CD-20", D(2024, 6, 3)),
            _grant("SC-CD-20G", "SC-CD-20", D(2024, 8, 1), D(2024, 7, 1)),
            _end("SC-CD-20E", D(2025, 10, 15), D(2025, 11, 1)),
            _appeal("SC-CD-20B", D(2025, 11, 20), "SC-CD-20E"),
            _appeal_outcome("SC-CD-20BG", "SC-CD-20B", D(2026, 3, 10), first=D(2025, 11, 1)),
        ],
    },
    "S21": {
        "shows": "APPEAL_REFUSAL (BOB): an application for the BOB of 2025-04-01 refused on 2025-06-10, the appeal "
        "of 2025-07-15 rejected by the agency on 2025-12-01: nothing granted, nothing open, no work list row",
        "member": _person("S21", D(1990, 12, 21), "ZK600"),
        "case_decisions": [
            _application("SC-CD-21", D(2025, 4, 1), budget="BOB"),
            _refusal("SC-CD-21R", "SC-CD-21", D(2025, 6, 10), budget="BOB"),
            _appeal("SC-CD-21B", D(2025, 7, 15), "SC-CD-21R", budget="BOB"),
            _appeal_outcome("SC-CD-21BR", "SC-CD-21B", D(2025, 12, 1), budget="BOB"),
        ],
    },
    "S22": {
        "shows": "REFUSAL: a special stay (WZC, ACCIDENT_INSURER) since 2026-02-02, the application of 2026-03-09 "
        "refused on 2026-05-20: not entitled, the application is closed and, decided or not, no W-APPLY-SPECIAL "
        "(the person has applied)",
        "member": _person("S22", D(1962, 1, 22), "ZK100"),
        "facility_stays": [_stay("SC-FS-22", "WZC", "VL", True, D(2026, 2, 2), special="ACCIDENT_INSURER")],
        "case_decisions": [
            _application("SC-CD-22", D(2026, 3, 9)),
            _refusal("SC-CD-22R", "SC-CD-22", D(2026, 5, 20)),
        ],
    },
    "S23": {
        "shows": "M-APPEAL-SUSPENDS: granted by hand from 2025-03 and paid to October 2026 on 2026-10-26; the "
        "delivery of 2026-11-01 brings an END from 2026-08 (decided 2026-10-12, left the Brussels WZC on "
        "2026-07-20) and the member's appeal of 2026-10-27 against it: on 2026-11-26 entitled 2025-03 to 2026-07, "
        "August to October 2026 owed back but not recovered while the appeal is open, W-APPEAL-OPEN since "
        "2026-10-27",
        "member": _person("S23", D(1943, 2, 23), "ZK200"),
        "facility_stays": [_stay("SC-FS-23", "WZC", "BXL", False, D(2025, 1, 20), discharge=D(2026, 7, 20))],
        "case_decisions": [
            _application("SC-CD-23", D(2025, 2, 3)),
            _grant("SC-CD-23G", "SC-CD-23", D(2025, 4, 14), D(2025, 3, 1)),
            _end("SC-CD-23E", D(2026, 10, 12), D(2026, 8, 1)),
            _appeal("SC-CD-23B", D(2026, 10, 27), "SC-CD-23E"),
        ],
    },
    "S24": {
        "shows": "W-MANUAL-CONFLICT: an adult granted by hand from 2025-03 (open) with a PVB from 2026-05-01 "
        "(X-VAPH-PVB): still entitled and paid to 2026-11, W-MANUAL-CONFLICT since 2026-05-01 with the case record "
        "and the PVB record",
        "member": _person("S24", D(1978, 3, 24), "ZK300"),
        "vaph_support": [
            dict(
                record_id="SC-VA-24",
                support_kind="PVB",
                start_date=D(2026, 5, 1),
                end_date=None,
                school_year=None,
                absence_days=None,
            )
        ],
        "case_decisions": [
            _application("SC-CD-24", D(2025, 2, 17)),
            _grant("SC-CD-24G", "SC-CD-24", D(2025, 4, 28), D(2025, 3, 1)),
        ],
    },
    "S25": {
        "shows": "R-ENUM in case_decisions: a screener right from 2025-08 and a case row of an unknown kind REVIEW "
        "(received 2026-09-14): the row is quarantined, the person held (S-HOLD, W-HELD naming R-ENUM and "
        "case_decisions), nothing paid while held",
        "member": _person("S25", D(1933, 6, 25), "ZK400"),
        "belrai_screeners": [_screener("SC-BR-25", D(2025, 4, 7), 15.0)],
        "case_decisions": [_application("SC-CD-25", D(2026, 9, 14)) | {"kind": "REVIEW"}],
    },
    "S26": {
        "shows": "R-REFERENCE: a GRANT of 2026-08-10 that refers to SC-CD-62 (no such row; the application is "
        "SC-CD-26): the GRANT is quarantined, the person held (W-HELD naming R-REFERENCE), nothing granted by hand; "
        "the application stays open without its GRANT, past its term since 2026-08-30 (W-APPLICATION-OVERDUE)",
        "member": _person("S26", D(1950, 9, 26), "ZK500"),
        "facility_stays": [_stay("SC-FS-26", "PVT", "BXL", False, D(2026, 4, 6))],
        "case_decisions": [
            _application("SC-CD-26", D(2026, 6, 1)),
            _grant("SC-CD-26G", "SC-CD-62", D(2026, 8, 10), D(2026, 6, 1)),
        ],
    },
}


def scenario_rows(delivery: dt.date = dt.date.max) -> dict[str, list[dict]]:
    """Rows per feed for every scenario person in the delivery of `delivery` (a VL residence since birth unless
    the scenario says otherwise; a scenario's `member_from` changes its member row from a delivery date on)."""
    feeds: dict[str, list[dict]] = {}
    for scenario in SCENARIOS.values():
        member = scenario["member"]
        for since, changes in scenario.get("member_from", {}).items():
            if delivery >= since:
                member = member | changes
        feeds.setdefault("members", []).append(member)
        residence = scenario.get(
            "residence_periods", [dict(region="VL", start_date=member["birth_date"], end_date=None)]
        )
        for feed, rows in {**scenario, "residence_periods": residence}.items():
            if feed in ("shows", "member", "member_from"):
                continue
            feeds.setdefault(feed, []).extend(
                {"insz": member["insz"]} | row for row in rows if _delivered(feed, row, delivery)
            )
    return feeds


def scenario_insz() -> dict[str, str]:
    return {code: s["member"]["insz"] for code, s in SCENARIOS.items()}

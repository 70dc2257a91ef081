"""Pandera models of the nine input feeds: the contract of docs/spec/feeds.md.

Each model has exactly the columns and types of docs/spec/feeds.md, with the column-level row rules
as pandera checks (nullability, codes, ranges, uniqueness). The rules that span several
columns (R-ID check digits, R-DATES, R-REQUIRED, a maximum per kind for R-RANGE) are described
beside the model in `FeedContract`; `pipelines/ingest/quarantine.py` turns both into vectorised flags
(and checks every float column for a finite number, R-RANGE, from the column types alone), and
the valid rows are validated again with the model before they go on.

Types are canonical after reading: a physical variant that holds the contract's values without
loss (docs/spec/feeds.md "Types": a dictionary-encoded string, any integer width that fits, a decimal
for float, a timestamp at midnight for date; flows/io/landing.py `physical_variant`) is cast to
the type of the model.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandera.polars as pa
import polars as pl

REGIONS = ["VL", "BXL", "WAL", "ABROAD"]
LANGUAGES = ["NL", "FR"]
AFFILIATION_BASES = ["RESIDENT_VL", "RESIDENT_BXL", "ABROAD_EMPLOYER_VL", "ABROAD_EMPLOYER_BXL"]
SERVICE_KINDS = ["GEZINSZORG", "AANVULLENDE_THUISZORG", "OTHER"]
SCALE_KINDS = ["IT", "THAB", "ZBO", "ZTK"]
FACILITY_KINDS = ["WZC", "PVT", "SERVICEFLAT", "KORTVERBLIJF", "DAGVERZORGING"]
SPECIAL_CATEGORIES = ["COMA_NAH", "MS_ALS_HUNTINGTON", "ACCIDENT_INSURER"]
SUPPORT_KINDS = [
    "PVB",
    "NRTH",
    "PAB",
    "MFC_FULLTIME",
    "ADULT_FACILITY_OUTSIDE_VL",
    "MINOR_RESIDENTIAL_OUTSIDE_VL",
    "ADULT_AMBULATORY_OUTSIDE_VL",
    "MPI_BOARDING",
    "SUPPORT_NEED",
]
BUDGETS = ["ZZB", "BOB"]
CASE_KINDS = ["APPLICATION", "GRANT", "END", "REFUSAL", "APPEAL", "APPEAL_GRANT", "APPEAL_REFUSAL"]
# docs/spec/feeds.md case_decisions: the decisions (they carry decided_date) and what they must refer to
CASE_DECISIONS = ("GRANT", "END", "REFUSAL", "APPEAL_GRANT", "APPEAL_REFUSAL")
CASE_TARGETS = {"GRANT": "APPLICATION", "REFUSAL": "APPLICATION", "APPEAL_GRANT": "APPEAL", "APPEAL_REFUSAL": "APPEAL"}
MAX_ABSENCE_DAYS = 366
# docs/spec/feeds.md R-RANGE: the medical-social self-reliance scale (IT, THAB, ZBO) has six items of 0 to 3 points
SELF_RELIANCE_KINDS = ("IT", "THAB", "ZBO")
MAX_SELF_RELIANCE_SCORE = 18.0


class Members(pa.DataFrameModel):
    """members: insured persons, one row per person (from the zorgkassen)."""

    insz: str = pa.Field(unique=True)
    zorgkas: str  # a code of data/reference/zorgkassen.csv (checked against the reference list)
    name: str
    birth_date: dt.date
    death_date: dt.date | None = pa.Field(nullable=True)
    domicile_region: str = pa.Field(isin=REGIONS)
    affiliation_basis: str = pa.Field(isin=AFFILIATION_BASES)
    affiliation_start: dt.date
    affiliation_end: dt.date | None = pa.Field(nullable=True)
    eu_insured_since: dt.date | None = pa.Field(nullable=True)
    iban: str | None = pa.Field(nullable=True)
    # optional columns (FeedContract.optional): a delivery may lack them; absent or null means the default
    language: str | None = pa.Field(nullable=True, isin=LANGUAGES)  # default NL (docs/spec/rules.md L-LANGUAGE)
    street: str | None = pa.Field(nullable=True)
    postal_code: str | None = pa.Field(nullable=True)
    city: str | None = pa.Field(nullable=True)
    country: str | None = pa.Field(nullable=True)  # ISO 3166 alpha-2; default BE


class ResidencePeriods(pa.DataFrameModel):
    """residence_periods: population register, where a person was domiciled."""

    insz: str
    region: str = pa.Field(isin=REGIONS)
    start_date: dt.date
    end_date: dt.date | None = pa.Field(nullable=True)


class IncreasedAllowance(pa.DataFrameModel):
    """increased_allowance: periods with verhoogde tegemoetkoming."""

    insz: str
    start_date: dt.date
    end_date: dt.date | None = pa.Field(nullable=True)


class PremiumPayments(pa.DataFrameModel):
    """premium_payments: care premium per member and year; key (insz, premium_year)."""

    insz: str
    premium_year: int
    amount_due: float = pa.Field(ge=0)
    amount_paid: float = pa.Field(ge=0)
    due_date: dt.date
    paid_date: dt.date | None = pa.Field(nullable=True)

    class Config:
        unique = ["insz", "premium_year"]


class BelraiScreeners(pa.DataFrameModel):
    """belrai_screeners: BelRAI Screener results from care services."""

    assessment_id: str = pa.Field(unique=True)
    insz: str
    assessment_date: dt.date
    service_kind: str = pa.Field(isin=SERVICE_KINDS)
    service_recognised: bool
    total_score: float = pa.Field(ge=0)
    adl_score: float = pa.Field(ge=0)
    iadl_score: float = pa.Field(ge=0)
    valid_until: dt.date | None = pa.Field(nullable=True)


class MedsocScales(pa.DataFrameModel):
    """medsoc_scales: medical-social scale results."""

    decision_id: str = pa.Field(unique=True)
    insz: str
    scale_kind: str = pa.Field(isin=SCALE_KINDS)
    decision_date: dt.date
    valid_from: dt.date
    valid_until: dt.date | None = pa.Field(nullable=True)
    score: float | None = pa.Field(nullable=True, ge=0)
    pillar_1: float | None = pa.Field(nullable=True, ge=0)
    pillar_2: float | None = pa.Field(nullable=True, ge=0)
    pillar_3: float | None = pa.Field(nullable=True, ge=0)


class FacilityStays(pa.DataFrameModel):
    """facility_stays: residence lists of care facilities."""

    stay_id: str = pa.Field(unique=True)
    insz: str
    facility_id: str
    facility_kind: str = pa.Field(isin=FACILITY_KINDS)
    facility_region: str = pa.Field(isin=REGIONS)
    recognised_by_flanders: bool
    admission_date: dt.date
    discharge_date: dt.date | None = pa.Field(nullable=True)
    special_category: str | None = pa.Field(nullable=True, isin=SPECIAL_CATEGORIES)


class VaphSupport(pa.DataFrameModel):
    """vaph_support: budget and support register of the VAPH."""

    record_id: str = pa.Field(unique=True)
    insz: str
    support_kind: str = pa.Field(isin=SUPPORT_KINDS)
    start_date: dt.date
    end_date: dt.date | None = pa.Field(nullable=True)
    school_year: int | None = pa.Field(nullable=True)
    absence_days: int | None = pa.Field(nullable=True, ge=0, le=MAX_ABSENCE_DAYS)


class CaseDecisions(pa.DataFrameModel):
    """case_decisions: applications, decisions by hand and appeals (from the zorgkassen and the agency)."""

    record_id: str = pa.Field(unique=True)
    insz: str
    budget: str = pa.Field(isin=BUDGETS)
    kind: str = pa.Field(isin=CASE_KINDS)
    received_date: dt.date | None = pa.Field(nullable=True)
    decided_date: dt.date | None = pa.Field(nullable=True)
    refers_to: str | None = pa.Field(nullable=True)
    first_month: dt.date | None = pa.Field(nullable=True)
    last_month: dt.date | None = pa.Field(nullable=True)


@dataclass(frozen=True)
class Required:
    """R-REQUIRED: when `when` holds, `columns` must not be null (or, `together`, all or none)."""

    columns: tuple[str, ...]
    kind_column: str | None = None
    kinds: tuple[str, ...] = ()
    together: bool = False


@dataclass(frozen=True)
class KindMaximum:
    """R-RANGE: when `kind_column` is one of `kinds`, `column` must not exceed `max_value`."""

    column: str
    kind_column: str
    kinds: tuple[str, ...]
    max_value: float


@dataclass(frozen=True)
class FeedContract:
    """What docs/spec/feeds.md says of a feed beyond its pandera model."""

    name: str
    model: type[pa.DataFrameModel]
    end_after_start: tuple[tuple[str, str], ...] = ()  # R-DATES: (start, end) pairs
    past_events: tuple[str, ...] = ()  # R-DATES: not after the delivery date
    month_starts: tuple[str, ...] = ()  # R-DATES: the first day of a month
    required: tuple[Required, ...] = ()
    kind_maxima: tuple[KindMaximum, ...] = ()  # R-RANGE: a maximum that holds for some kinds only
    reference_codes: dict[str, str] = field(default_factory=dict)  # column -> reference list
    # columns a delivery may lack (nullable in the model): read as null when absent, checked when present
    optional: tuple[str, ...] = ()
    # R-REFERENCE: kind -> the kind its `refers_to` must name in the same delivery (same insz and budget)
    references: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        columns = self.model.to_schema().columns
        for name in self.optional:
            if name not in columns or not columns[name].nullable:
                raise ValueError(f"feed {self.name}: optional column {name} must be a nullable column of the model")

    @property
    def schema(self) -> pa.DataFrameSchema:
        return self.model.to_schema()

    @property
    def columns(self) -> dict[str, pl.DataType]:
        """The contract's columns and their canonical Polars types, in docs/spec/feeds.md order."""
        return {name: col.dtype.type for name, col in self.schema.columns.items()}

    @property
    def mandatory_columns(self) -> dict[str, pl.DataType]:
        """The columns every delivery holds (all but the optional ones), in the contract's order."""
        return {name: dtype for name, dtype in self.columns.items() if name not in self.optional}

    @property
    def nullable(self) -> frozenset[str]:
        return frozenset(n for n, c in self.schema.columns.items() if c.nullable)

    @property
    def key(self) -> tuple[str, ...]:
        """R-DUPLICATE: the unique key (a unique column, or the model's composite key)."""
        schema = self.schema
        if schema.unique:
            return tuple(schema.unique)
        return tuple(n for n, c in schema.columns.items() if c.unique)


FEEDS: dict[str, FeedContract] = {
    c.name: c
    for c in [
        FeedContract(
            "members",
            Members,
            end_after_start=(("affiliation_start", "affiliation_end"), ("birth_date", "death_date")),
            past_events=("birth_date", "death_date"),
            reference_codes={"zorgkas": "zorgkassen"},
            optional=("language", "street", "postal_code", "city", "country"),
        ),
        FeedContract("residence_periods", ResidencePeriods, end_after_start=(("start_date", "end_date"),)),
        FeedContract("increased_allowance", IncreasedAllowance, end_after_start=(("start_date", "end_date"),)),
        FeedContract(
            "premium_payments",
            PremiumPayments,
            past_events=("paid_date",),
        ),
        FeedContract(
            "belrai_screeners",
            BelraiScreeners,
            end_after_start=(("assessment_date", "valid_until"),),
            past_events=("assessment_date",),
        ),
        FeedContract(
            "medsoc_scales",
            MedsocScales,
            end_after_start=(("valid_from", "valid_until"),),
            past_events=("decision_date",),
            required=(
                Required(("score",), "scale_kind", ("IT", "THAB", "ZBO")),
                Required(("pillar_1", "pillar_2", "pillar_3"), "scale_kind", ("ZTK",)),
            ),
            kind_maxima=(KindMaximum("score", "scale_kind", SELF_RELIANCE_KINDS, MAX_SELF_RELIANCE_SCORE),),
        ),
        FeedContract(
            "facility_stays",
            FacilityStays,
            end_after_start=(("admission_date", "discharge_date"),),
            past_events=("admission_date",),
        ),
        FeedContract(
            "vaph_support",
            VaphSupport,
            end_after_start=(("start_date", "end_date"),),
            required=(Required(("school_year", "absence_days"), together=True),),
        ),
        FeedContract(
            "case_decisions",
            CaseDecisions,
            end_after_start=(("first_month", "last_month"),),
            past_events=("received_date", "decided_date"),
            month_starts=("first_month", "last_month"),
            required=(
                Required(("received_date",), "kind", ("APPLICATION", "APPEAL")),
                Required(("decided_date",), "kind", CASE_DECISIONS),
                Required(("first_month",), "kind", ("GRANT", "END", "APPEAL_GRANT")),
                Required(("refers_to",), "kind", ("APPEAL", "APPEAL_GRANT", "APPEAL_REFUSAL")),
            ),
            references=CASE_TARGETS,
        ),
    ]
}

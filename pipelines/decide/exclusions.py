"""Exclusions of the ZZB and the BOB and their exceptions, judged on first(M) (docs/spec/rules.md §4 and §6).

Each flag function is an expression on one row of a person-month joined with one record
(a `vaph_support` or `facility_stays` row) that is active on first(M), with the person's
`age` on first(M). `exclusion_flags` aggregates them per person and month. Their parameters
(`MONTHLY`: adult_age, the 18 of the rule text, and nrth_transition_date) are those in force on
first(M): decide judges each run of months in which neither changes with its own.
"""

from __future__ import annotations

import polars as pl

from pipelines.params import Params
from pipelines.timeline import active_on

MONTHLY = ("adult_age", "nrth_transition_date")  # read on first(M)


def _kind(kind: str) -> pl.Expr:
    return pl.col("support_kind") == kind


def x_vaph_pvb(p: Params) -> pl.Expr:
    """X-VAPH-PVB: a persoonsvolgend budget is active and the person is 18 or older."""
    return _kind("PVB") & (pl.col("age") >= p.adult_age)


def t_nrth_2017(p: Params) -> pl.Expr:
    """T-NRTH-2017: an NRTH record of an adult that started on or before nrth_transition_date: the month
    is neither granted nor refused automatically (work list W-NRTH-TRANSITION)."""
    return _kind("NRTH") & (pl.col("age") >= p.adult_age) & (pl.col("start_date") <= p.nrth_transition_date)


def x_vaph_nrth(p: Params) -> pl.Expr:
    """X-VAPH-NRTH: NRTH active and the person is 18 or older (records under T-NRTH-2017 excepted)."""
    return _kind("NRTH") & (pl.col("age") >= p.adult_age) & ~t_nrth_2017(p)


def x_vaph_pab(p: Params) -> pl.Expr:
    """X-VAPH-PAB: a persoonlijk assistentiebudget is active and the person is younger than 18."""
    return _kind("PAB") & (pl.col("age") < p.adult_age)


def x_vaph_mfc() -> pl.Expr:
    """X-VAPH-MFC: a full-time stay in a multifunctional centre is active (exception: G-ABSENCE)."""
    return _kind("MFC_FULLTIME")


def x_vaph_adult_outside() -> pl.Expr:
    """X-VAPH-ADULT-OUTSIDE: an adult facility outside Flanders is active."""
    return _kind("ADULT_FACILITY_OUTSIDE_VL")


def x_vaph_minor_outside() -> pl.Expr:
    """X-VAPH-MINOR-OUTSIDE: residential care for minors outside Flanders is active (exception: G-ABSENCE)."""
    return _kind("MINOR_RESIDENTIAL_OUTSIDE_VL")


def x_vaph_ambulatory_outside() -> pl.Expr:
    """X-VAPH-AMBULATORY-OUTSIDE: ambulatory support for adults outside Flanders is active."""
    return _kind("ADULT_AMBULATORY_OUTSIDE_VL")


def x_mpi_boarding() -> pl.Expr:
    """X-MPI-BOARDING: boarding (internaat) at a medical-pedagogical institute is active."""
    return _kind("MPI_BOARDING")


def x_bob_pvb() -> pl.Expr:
    """X-BOB-PVB: a PVB is active (the BOB cannot be combined with it), whatever the age."""
    return _kind("PVB")


def x_bob_pab(p: Params) -> pl.Expr:
    """X-BOB-PAB: a PAB is active and the person is younger than 18."""
    return _kind("PAB") & (pl.col("age") < p.adult_age)


def x_bob_mfc(p: Params) -> pl.Expr:
    """X-BOB-MFC: MFC_FULLTIME is active and the person is younger than 18."""
    return _kind("MFC_FULLTIME") & (pl.col("age") < p.adult_age)


def x_special_stay() -> pl.Expr:
    """X-SPECIAL-STAY: a `facility_stays` row in a WZC or PVT in VL recognised by Flanders with a
    `special_category` active: an automatic grant is not possible, whatever other ground exists; the person
    must apply (W-APPLY-SPECIAL).

    docs/spec/rules.md §4. The stay's flag (special categories COMA_NAH, MS_ALS_HUNTINGTON, ACCIDENT_INSURER);
    `exclusion_flags` applies it on first(M) to the stays active then.
    """
    return (
        pl.col("facility_kind").is_in(["WZC", "PVT"])
        & (pl.col("facility_region") == "VL")
        & pl.col("recognised_by_flanders")
        & pl.col("special_category").is_not_null()
    ).fill_null(False)


ZZB_VAPH = {
    "X-VAPH-PVB": x_vaph_pvb,
    "X-VAPH-NRTH": x_vaph_nrth,
    "T-NRTH-2017": t_nrth_2017,
    "X-VAPH-PAB": x_vaph_pab,
    "X-VAPH-MFC": lambda p: x_vaph_mfc(),
    "X-VAPH-ADULT-OUTSIDE": lambda p: x_vaph_adult_outside(),
    "X-VAPH-MINOR-OUTSIDE": lambda p: x_vaph_minor_outside(),
    "X-VAPH-AMBULATORY-OUTSIDE": lambda p: x_vaph_ambulatory_outside(),
    "X-MPI-BOARDING": lambda p: x_mpi_boarding(),
}
BOB_VAPH = {"X-BOB-PVB": lambda p: x_bob_pvb(), "X-BOB-PAB": x_bob_pab, "X-BOB-MFC": x_bob_mfc}
ZZB_EXCLUSIONS = [c for c in ZZB_VAPH if c.startswith("X-")] + ["X-SPECIAL-STAY"]
BOB_EXCLUSIONS = list(BOB_VAPH)


def flag_name(code: str) -> str:
    return code.lower().replace("-", "_")


def exclusion_flags(months: pl.LazyFrame, vaph: pl.LazyFrame, stays: pl.LazyFrame, p: Params) -> pl.LazyFrame:
    """Per (insz, month) of `months` (with `age`): one flag per exclusion code, and the records behind them.

    Columns: insz, month, one boolean per code of ZZB_VAPH, BOB_VAPH and X-SPECIAL-STAY,
    zzb_exclusion_evidence, bob_exclusion_evidence. Months without any active record get False.
    `p`: the parameters in force on the first(M) of every month of `months`.
    """
    vaph_codes = {**ZZB_VAPH, **BOB_VAPH}
    keys = months.select("insz", "month", "age")
    vaph_rows = (
        keys.join(vaph.select("insz", "record_id", "support_kind", "start_date", "end_date"), on="insz")
        .filter(active_on(pl.col("start_date"), pl.col("end_date"), pl.col("month")))
        .with_columns([f(p).alias(flag_name(code)) for code, f in vaph_codes.items()])
        .with_columns(pl.format("vaph_support:{}", pl.col("record_id")).alias("_evidence"))
    )
    zzb_any = pl.any_horizontal([flag_name(c) for c in ZZB_VAPH])
    bob_any = pl.any_horizontal([flag_name(c) for c in BOB_VAPH])
    vaph_flags = vaph_rows.group_by("insz", "month").agg(
        *[pl.col(flag_name(c)).any() for c in vaph_codes],
        pl.col("_evidence").filter(zzb_any).alias("zzb_exclusion_evidence"),
        pl.col("_evidence").filter(bob_any).alias("bob_exclusion_evidence"),
    )
    stay_flags = (
        keys.join(
            stays.filter(x_special_stay()).select("insz", "stay_id", "admission_date", "discharge_date"), on="insz"
        )
        .filter(active_on(pl.col("admission_date"), pl.col("discharge_date"), pl.col("month")))
        .group_by("insz", "month")
        .agg(
            pl.lit(True).alias(flag_name("X-SPECIAL-STAY")),
            pl.format("facility_stays:{}", pl.col("stay_id")).alias("special_stay_evidence"),
        )
    )
    flags = [flag_name(c) for c in vaph_codes] + [flag_name("X-SPECIAL-STAY")]
    return (
        keys.drop("age")
        .join(vaph_flags, on=["insz", "month"], how="left")
        .join(stay_flags, on=["insz", "month"], how="left")
        .with_columns(
            [pl.col(f).fill_null(False) for f in flags]
            + [
                pl.concat_list(
                    pl.col("zzb_exclusion_evidence").fill_null(pl.lit([], pl.List(pl.String))),
                    pl.col("special_stay_evidence").fill_null(pl.lit([], pl.List(pl.String))),
                ).alias("zzb_exclusion_evidence"),
                pl.col("bob_exclusion_evidence").fill_null(pl.lit([], pl.List(pl.String))),
            ]
        )
        .drop("special_stay_evidence")
    )

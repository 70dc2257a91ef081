"""Synthetic landing zone: realistic, deterministic test data for the nine input feeds.

`iter_landing(n_members, seed, as_of, zorgkas_codes)` yields `(feed, delivery_date, frame)` for
every feed of docs/spec/feeds.md and two deliveries: `as_of` minus one month (same day of the
month, clamped to the month's end) and `as_of`. Frames have exactly the columns, Polars dtypes
and column order of the pandera models in `schemas/feeds.py`, members' optional columns included
(language and postal address, for the letters: `_addresses`).

How it works. A *population* of persons is drawn once (numpy arrays, one slot per person):
birth, death, national number, residence history (one to three periods), affiliation,
zorgkas, IBAN, increased-allowance periods. Each feed is then a *latent* table of events with
their true dates (screeners, decisions, stays, VAPH records, premium payments, ...), and each
delivery is a snapshot of it on the delivery date d: a record is delivered when its start/event
date is on or before d; an end date is delivered when it is before d (before that the record is
open); a death when it is on or before d; a payment when it arrived on or before d; absence days
of a school year still running are the days counted so far. The second delivery is therefore a
realistic evolution of the first: newcomers (births, immigrants, new Brussels voluntary
affiliations), deaths, moves, new screeners/decisions/stays/records, ended periods, late
payments, a few zorgkas changes and IBANs that arrive, and a few members that vanish from the
feed (W-MEMBER-MISSING). About 0.05% of the persons are in other feeds but never in `members`.

Bad rows. In each delivery a small share of rows (about 0.04% of a feed's rows per rule, at
least three per rule) is deliberately broken, each row for one quarantine rule of docs/spec/feeds.md
(R-ID, R-NULL, R-ENUM, R-DATES, R-RANGE, R-REQUIRED, R-REFERENCE, R-DUPLICATE), with several variants per
rule. `generate(..., labels=True)` adds a `_bad` column ("RULE:variant", null for good rows) so
that tests can check that every labelled row breaks its rule and no other row breaks any.
Duplicates label every row of the repeated key. Invalid IBANs (~0.3%) are not row errors and are
not labelled (`iban_kinds` tells them apart for tests).

Everything is vectorised (numpy + Polars); loops run only over feeds, deliveries, years and a
handful of categories. No I/O and no clock: the same arguments give identical frames, and each
feed draws from its own seed `[seed, feed number]`, so one feed does not depend on the others.
(The case_decisions feed, synthdata/cases.py, draws its W-APPLY applicants from the facility stays: it makes them
again from the facility feed's own seed, `facility_rng`, so it still does not depend on what else is generated.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipelines.ingest.insz import insz_check_digits
from schemas.feeds import (
    AFFILIATION_BASES,
    FACILITY_KINDS,
    FEEDS,
    REGIONS,
    SCALE_KINDS,
    SERVICE_KINDS,
    SPECIAL_CATEGORIES,
    SUPPORT_KINDS,
)

__all__ = ["iter_landing", "generate", "delivery_dates", "FEED_NAMES", "iban_kinds"]

FEED_NAMES: tuple[str, ...] = tuple(FEEDS)  # members, residence_periods, ... in schemas order

# ---------------------------------------------------------------------------------------------
# dates as int32 days since 1970-01-01 (Polars' physical Date)

_EPOCH = dt.date(1970, 1, 1)
NA = np.int32(2**31 - 1)  # null end / never / open
ALWAYS = np.int32(-(2**31) + 1)
VL, BXL, WAL, ABROAD = (REGIONS.index(r) for r in ("VL", "BXL", "WAL", "ABROAD"))
YEAR = 365


def _day(d: dt.date) -> int:
    return (d - _EPOCH).days


def _ymd(y, m, d) -> np.ndarray:
    """Days of (year, month, day) arrays; the day is clamped to the month's length."""
    y = np.asarray(y, np.int64)
    m = np.asarray(m, np.int64)
    d = np.asarray(d, np.int64)
    months = (y - 1970) * 12 + (m - 1)
    start = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    nxt = (months + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    return (start + np.minimum(d, nxt - start) - 1).astype(np.int32)


def _split(days) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    days64 = np.asarray(days, np.int64).astype("datetime64[D]")
    months = days64.astype("datetime64[M]")
    y = months.astype("datetime64[Y]").astype(np.int64) + 1970
    m = months.astype(np.int64) % 12 + 1
    d = (days64 - months.astype("datetime64[D]")).astype(np.int64) + 1
    return y, m, d


def _year(days) -> np.ndarray:
    return np.asarray(days, np.int64).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def _add_years(days, k) -> np.ndarray:
    y, m, d = _split(days)
    return _ymd(y + k, m, d)


def _between(rng: np.random.Generator, lo, hi) -> np.ndarray:
    """Uniform integer day in [lo, hi] (hi raised to lo when below)."""
    lo = np.asarray(lo, np.int64)
    hi = np.maximum(np.asarray(hi, np.int64), lo)
    shape = np.broadcast(lo, hi).shape
    return (lo + np.floor(rng.random(shape) * (hi - lo + 1)).astype(np.int64)).astype(np.int32)


def delivery_dates(as_of: dt.date) -> list[dt.date]:
    """The two delivery dates: as_of minus one month (same day, clamped) and as_of."""
    y, m = (as_of.year, as_of.month - 1) if as_of.month > 1 else (as_of.year - 1, 12)
    first_next = dt.date(y + (m == 12), m % 12 + 1, 1)
    last_day = (first_next - dt.timedelta(days=1)).day
    return [dt.date(y, m, min(as_of.day, last_day)), as_of]


def _pick(rng: np.random.Generator, prob, eligible: np.ndarray, min_count: int = 3) -> np.ndarray:
    """Indices chosen with probability `prob` among `eligible`, at least `min_count` if possible."""
    chosen = eligible & (rng.random(eligible.shape[0]) < prob)
    missing = min_count - int(chosen.sum())
    if missing > 0:
        rest = np.flatnonzero(eligible & ~chosen)
        chosen[rng.choice(rest, min(missing, rest.size), replace=False)] = True
    return np.flatnonzero(chosen)


def _ensure_each(rng: np.random.Generator, values: np.ndarray, eligible: np.ndarray, codes) -> None:
    """Make every code appear at least once among the eligible rows (small samples)."""
    taken = np.zeros(values.shape[0], bool)
    for code in codes:
        if not np.any(eligible & (values == code)):
            cands = np.flatnonzero(eligible & ~taken)
            if cands.size:
                i = rng.choice(cands)
                values[i] = code
                taken[i] = True


def _repeat_rows(persons: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of `counts[i]` records per person: (person, rank of the record within the person)."""
    p = np.repeat(persons, counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return p, (np.arange(p.size) - starts).astype(np.int32)


def _strs(codes, idx: np.ndarray) -> pl.Series:
    return pl.Series(list(codes), dtype=pl.String).gather(np.asarray(idx, np.int64))


def _insz_str(numbers: np.ndarray) -> pl.Series:
    return pl.Series(np.asarray(numbers, np.int64)).cast(pl.String).str.zfill(11)


def _ids(prefix: str, numbers: np.ndarray) -> pl.Series:
    digits = pl.Series(np.asarray(numbers, np.int64)).cast(pl.String).str.zfill(9)
    return pl.select(pl.concat_str([pl.lit(prefix), pl.lit(digits)])).to_series()


def _dates(arr: np.ndarray, shown: np.ndarray | None = None) -> pl.Series:
    """Polars Date series of int32 days; NA (or not `shown`) becomes null."""
    arr = np.asarray(arr, np.int32)
    null = arr == NA if shown is None else (~shown | (arr == NA))
    s = pl.Series(arr).cast(pl.Date)
    if null.any():
        s = pl.select(pl.when(pl.lit(pl.Series(null))).then(None).otherwise(pl.lit(s))).to_series()
    return s


def _frame(columns: dict[str, pl.Series]) -> pl.DataFrame:
    return pl.DataFrame([s.alias(name) for name, s in columns.items()])


# ---------------------------------------------------------------------------------------------
# names, banks

_MALE = [
    "Jan",
    "Luc",
    "Marc",
    "Peter",
    "Bart",
    "Tom",
    "Koen",
    "Dirk",
    "Wim",
    "Geert",
    "Stijn",
    "Pieter",
    "Lucas",
    "Arthur",
    "Noah",
    "Louis",
    "Mohamed",
    "Jules",
    "Victor",
    "Lars",
    "Thomas",
    "Wout",
    "Jef",
    "Frans",
    "Jozef",
    "André",
    "Karel",
    "Willy",
    "Rudi",
    "Senne",
    "Youssef",
    "Kevin",
]
_FEMALE = [
    "Maria",
    "Anna",
    "Els",
    "An",
    "Katrien",
    "Sofie",
    "Lies",
    "Sarah",
    "Emma",
    "Olivia",
    "Louise",
    "Mila",
    "Noor",
    "Julie",
    "Marie",
    "Lotte",
    "Hanne",
    "Fatima",
    "Elise",
    "Lena",
    "Nina",
    "Ine",
    "Greet",
    "Rita",
    "Godelieve",
    "Martine",
    "Yvonne",
    "Leen",
    "Femke",
    "Amira",
    "Chloé",
    "Zeynep",
]
_SURNAMES = [
    "Peeters",
    "Janssens",
    "Maes",
    "Jacobs",
    "Mertens",
    "Willems",
    "Claes",
    "Goossens",
    "Wouters",
    "De Smet",
    "Dubois",
    "Lambert",
    "Dupont",
    "Martin",
    "Hermans",
    "Michiels",
    "Aerts",
    "Van den Broeck",
    "Desmet",
    "Vermeulen",
    "De Vos",
    "Pauwels",
    "Van Damme",
    "Cools",
    "Verhoeven",
    "Claeys",
    "Smets",
    "De Clercq",
    "Stevens",
    "Van de Velde",
    "Segers",
    "Lemmens",
    "Coppens",
    "Vandenberghe",
    "Verstraete",
    "Leroy",
    "El Amrani",
    "Yilmaz",
    "Nowak",
    "Dimitrov",
    "Van Dyck",
    "De Backer",
    "Baert",
    "Hendrickx",
    "Wuyts",
    "D'Hondt",
    "Van Acker",
    "Öztürk",
]
# Belgian bank codes (first three digits of the account) known to python-stdnum's bank list.
_BE_BANKS = np.array([1, 63, 68, 91, 143, 310, 363, 735, 737, 738, 750, 973, 979])
_BE_BANK_P = np.array([10, 6, 5, 4, 4, 8, 6, 14, 8, 6, 7, 8, 6], float)
_NL_BANKS = ["ABNA", "INGB", "RABO", "TRIO", "SNSB", "ASNB"]
_FR_BANKS = np.array([30004, 30003, 30002, 10278, 20041])
_DE_BANKS = np.array([10070000, 20040000, 37040044, 50010517, 70020270])
_LU_BANKS = np.array([1, 2, 3, 19, 30])

# kinds of IBAN drawn by _ibans
IBAN_BE, IBAN_NL, IBAN_FR, IBAN_DE, IBAN_LU, IBAN_NULL, IBAN_BAD_CHECK, IBAN_BAD_BE_ACCOUNT = range(8)
_IBAN_P = [0.934, 0.013, 0.013, 0.010, 0.007, 0.020, 0.0015, 0.0015]
IBAN_VALID_KINDS = (IBAN_BE, IBAN_NL, IBAN_FR, IBAN_DE, IBAN_LU)


def _mod97(pieces: list[tuple[np.ndarray | int, int]]) -> np.ndarray:
    """(digits of the pieces, concatenated) mod 97, pieces given as (value, number of digits)."""
    r = np.int64(0)
    for value, ndigits in pieces:
        r = (r * pow(10, ndigits, 97) + np.asarray(value, np.int64) % 97) % 97
    return r


def _letters(code: str) -> int:
    return int("".join(str(ord(c) - 55) for c in code))


def _pad(values, width: int) -> pl.Expr:
    return pl.lit(pl.Series(np.asarray(values, np.int64))).cast(pl.String).str.zfill(width)


def _ibans(rng: np.random.Generator, n: int, p_foreign: np.ndarray | None = None) -> tuple[pl.Series, np.ndarray]:
    """IBANs and their kind (IBAN_*): Belgian (mod 97 and the account's own check digits correct,
    bank code from a list of real codes), NL/FR/DE/LU, null, or with wrong check digits."""
    kind = rng.choice(len(_IBAN_P), size=n, p=_IBAN_P).astype(np.int8)
    if p_foreign is not None:  # people living abroad: half of them a foreign account
        foreign = (rng.random(n) < p_foreign) & (kind == IBAN_BE)
        kind[foreign] = rng.choice([IBAN_NL, IBAN_FR, IBAN_DE, IBAN_LU], size=int(foreign.sum()))
    out = pl.repeat(None, n, dtype=pl.String, eager=True)

    def put(mask: np.ndarray, expr: pl.Expr) -> None:
        nonlocal out
        idx = np.flatnonzero(mask)
        if idx.size:
            out = out.scatter(idx, pl.select(expr).to_series())

    def belgian(k: int):
        bank = rng.choice(_BE_BANKS, size=k, p=_BE_BANK_P / _BE_BANK_P.sum())
        acct10 = bank * 10**7 + rng.integers(0, 10**7, size=k)
        national = acct10 % 97
        return acct10, np.where(national == 0, 97, national)

    for kinds, builder in [
        ((IBAN_BE, IBAN_BAD_CHECK, IBAN_BAD_BE_ACCOUNT), "BE"),
        ((IBAN_NL,), "NL"),
        ((IBAN_FR,), "FR"),
        ((IBAN_DE,), "DE"),
        ((IBAN_LU,), "LU"),
    ]:
        mask = np.isin(kind, kinds)
        k = int(mask.sum())
        if not k:
            continue
        sub = kind[mask]
        if builder == "BE":
            acct10, national = belgian(k)
            national = np.where(sub == IBAN_BAD_BE_ACCOUNT, national % 97 + 1, national)
            acct12 = acct10 * 100 + national
            check = 98 - _mod97([(acct12, 12), (1114, 4), (0, 2)])
            check = np.where(sub == IBAN_BAD_CHECK, (check - 2 + rng.integers(1, 96, size=k)) % 97 + 2, check)
            put(mask, pl.concat_str([pl.lit("BE"), _pad(check, 2), _pad(acct12, 12)]))
        elif builder == "NL":
            b = rng.integers(0, len(_NL_BANKS), size=k)
            digits = np.array([_letters(c) for c in _NL_BANKS], np.int64)[b]
            acct = rng.integers(10**8, 10**10, size=k)
            check = 98 - _mod97([(digits, 8), (acct, 10), (2321, 4), (0, 2)])
            put(mask, pl.concat_str([pl.lit("NL"), _pad(check, 2), pl.lit(_strs(_NL_BANKS, b)), _pad(acct, 10)]))
        elif builder == "FR":
            bank = rng.choice(_FR_BANKS, size=k)
            branch = rng.integers(0, 10**5, size=k)
            acct = rng.integers(0, 10**11, size=k)
            rib = 97 - (89 * bank + 15 * branch + 3 * acct) % 97
            check = 98 - _mod97([(bank, 5), (branch, 5), (acct, 11), (rib, 2), (1527, 4), (0, 2)])
            put(
                mask,
                pl.concat_str(
                    [pl.lit("FR"), _pad(check, 2), _pad(bank, 5), _pad(branch, 5), _pad(acct, 11), _pad(rib, 2)]
                ),
            )
        elif builder == "DE":
            blz = rng.choice(_DE_BANKS, size=k)
            acct = rng.integers(10**6, 10**10, size=k)
            check = 98 - _mod97([(blz, 8), (acct, 10), (1314, 4), (0, 2)])
            put(mask, pl.concat_str([pl.lit("DE"), _pad(check, 2), _pad(blz, 8), _pad(acct, 10)]))
        else:
            bank = rng.choice(_LU_BANKS, size=k)
            acct = rng.integers(0, 10**13, size=k)
            check = 98 - _mod97([(bank, 3), (acct, 13), (2130, 4), (0, 2)])
            put(mask, pl.concat_str([pl.lit("LU"), _pad(check, 2), _pad(bank, 3), _pad(acct, 13)]))
    return out, kind


def iban_kinds(n: int, seed: int) -> tuple[pl.Series, np.ndarray]:
    """IBANs as the generator makes them, with their intended kind (for tests)."""
    return _ibans(np.random.default_rng([seed, 99]), n)


# ---------------------------------------------------------------------------------------------
# population

# residence histories: (name, probability, regions of the periods in order)
_GROUPS = [
    ("vl_native", 0.745, (VL,)),
    ("vl_from_wal", 0.030, (WAL, VL)),
    ("vl_from_abroad_old", 0.040, (ABROAD, VL)),
    ("vl_from_abroad_new", 0.020, (ABROAD, VL)),
    ("bxl_to_vl", 0.035, (BXL, VL)),
    ("vl_bxl_vl", 0.010, (VL, BXL, VL)),
    ("vl_to_bxl", 0.020, (VL, BXL)),
    ("bxl_native", 0.050, (BXL,)),
    ("abroad_to_bxl", 0.010, (ABROAD, BXL)),
    ("vl_to_wal_left", 0.006, (VL, WAL)),
    ("wal_employer", 0.014, (WAL,)),
    ("vl_to_abroad_left", 0.004, (VL, ABROAD)),
    ("abroad_employer", 0.016, (ABROAD,)),
]
_G = {name: i for i, (name, _, _) in enumerate(_GROUPS)}
_G_REGIONS = np.full((len(_GROUPS), 3), -1, np.int8)
for _i, (_, _, _regions) in enumerate(_GROUPS):
    _G_REGIONS[_i, : len(_regions)] = _regions
_G_PERIODS = (_G_REGIONS >= 0).sum(axis=1)
_EMPLOYER = (_G["wal_employer"], _G["abroad_employer"])
_LEFT = (_G["vl_to_wal_left"], _G["vl_to_abroad_left"])
# moves that may fall between the two deliveries (they do not start the affiliation)
_RECENT_MOVE_GROUPS = (_G["bxl_to_vl"], _G["vl_bxl_vl"], _G["vl_to_bxl"], *_LEFT)

MEMBER, NEWCOMER, VANISHED, NON_MEMBER = range(4)
_ZK_WEIGHTS = np.array([0.38, 0.09, 0.19, 0.07, 0.15, 0.12])


@dataclass
class _Population:
    seed: int
    d1: int
    d2: int
    as_of: dt.date
    codes: list[str]
    role: np.ndarray
    member_from: np.ndarray
    member_to: np.ndarray
    visible_from: np.ndarray
    birth: np.ndarray
    death: np.ndarray
    age: np.ndarray
    insz: np.ndarray
    name: pl.Series | None  # released after the members feed
    zk_old: np.ndarray
    zk_new: np.ndarray
    zk_change: np.ndarray
    group: np.ndarray
    starts: np.ndarray  # (P, 3) start of each residence period, NA when none
    last_end: np.ndarray  # end of the last period (death), NA when open
    away_basis: np.ndarray
    aff_start: np.ndarray
    aff_end: np.ndarray
    eu_since: np.ndarray
    iban: pl.Series | None
    iban_from: np.ndarray
    ia: np.ndarray  # (P, 2, 2): increased-allowance periods (start, end), NA when none
    defaulter: np.ndarray

    @property
    def size(self) -> int:
        return self.role.shape[0]

    @property
    def hi(self) -> np.ndarray:
        """Last day on which an event of the person can happen (as_of or death)."""
        return np.minimum(self.d2, self.death)

    @property
    def lo(self) -> np.ndarray:
        """First day on which a record of the person can start (birth, arrival)."""
        return np.maximum(self.birth, self.visible_from)

    def domicile(self, d: int) -> np.ndarray:
        regions = _G_REGIONS[self.group]
        reg = regions[:, 0].copy()
        for k in (1, 2):
            reg = np.where(self.starts[:, k] <= d, regions[:, k], reg)
        return reg


def _age_weights() -> np.ndarray:
    ages = np.arange(102)
    w = np.interp(ages, [0, 60, 75, 90, 101], [1.0, 1.0, 0.7, 0.25, 0.02])
    return w / w.sum()


def _insz_numbers(rng: np.random.Generator, birth: np.ndarray, bis: np.ndarray) -> np.ndarray:
    """Unique valid national numbers (BIS numbers where `bis`: month + 40, or + 20 for some)."""
    y, m, d = _split(birth)
    mm = m + np.where(bis, np.where(rng.random(birth.size) < 0.2, 20, 40), 0)
    key6 = (y % 100) * 10_000 + mm * 100 + d
    order = np.lexsort((rng.random(birth.size), key6))
    ks = key6[order]
    new_group = np.r_[True, ks[1:] != ks[:-1]]
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(ks.size), 0))
    rank = np.arange(ks.size) - group_start
    if rank.size and rank.max() >= 997:
        raise ValueError("too many persons born on one day for unique national numbers")
    counter = np.empty_like(key6)
    counter[order] = (rank * 389 + (ks * 7919 + 13) % 997) % 997 + 1  # 997 is prime: distinct
    base9 = key6 * 1000 + counter
    cc = (
        pl.DataFrame({"base9": base9, "post": y >= 2000})
        .select(insz_check_digits(pl.col("base9"), pl.col("post")))
        .to_series()
        .to_numpy()
    )
    return base9 * 100 + cc


def _population(n_members: int, seed: int, as_of: dt.date, codes: list[str]) -> _Population:
    rng = np.random.default_rng([seed, 0])
    d1_date, d2_date = delivery_dates(as_of)
    d1, d2 = _day(d1_date), _day(d2_date)
    n_new = max(2, round(0.0015 * n_members))
    n_van = max(1, round(0.0002 * n_members))
    n_non = max(2, round(0.0005 * n_members))
    n_exist = max(n_members - n_new, 0)
    role = np.repeat(np.array([MEMBER, NEWCOMER, VANISHED, NON_MEMBER], np.int8), [n_exist, n_new, n_van, n_non])
    role = role[rng.permutation(role.size)]
    P = role.size
    is_new = role == NEWCOMER
    new_kind = rng.choice(3, size=P, p=[0.5, 0.35, 0.15])  # birth, immigrant, Brussels voluntary
    join = _between(rng, np.full(P, d1 + 1), d2)

    # births and ages
    age_years = rng.choice(102, size=P, p=_age_weights())
    birth = (d1 - 1 - age_years * 365.25 - rng.integers(0, 365, size=P)).astype(np.int64)
    oldest = _day(dt.date(1925, 1, 1))
    birth = np.where(birth < oldest, oldest + rng.integers(0, 2 * YEAR, size=P), birth)
    born_new = is_new & (new_kind == 0)
    birth = np.where(born_new, join, np.minimum(birth, np.where(is_new, join - 1, d1 - 1))).astype(np.int32)
    age = (d2 - birth) / 365.25

    # residence history group
    probs = np.array([g[1] for g in _GROUPS])
    group = rng.choice(len(_GROUPS), size=P, p=probs / probs.sum()).astype(np.int8)
    group[np.isin(group, _EMPLOYER) & (age < 20)] = _G["vl_native"]
    group[born_new] = _G["vl_native"]
    group[is_new & (new_kind == 1)] = _G["vl_from_abroad_new"]
    bxl_new = is_new & (new_kind == 2)
    group[bxl_new] = np.where(rng.random(P) < 0.7, _G["bxl_native"], _G["abroad_to_bxl"])[bxl_new]

    # deaths: ~1%, older people more likely; 8% of them between the deliveries
    w = np.exp((age - 80) / 9)
    p_dead = np.minimum(0.5, w * 0.01 * P / w.sum())
    dead = (rng.random(P) < p_dead) & ~is_new
    recent = rng.random(P) < 0.08
    death = np.where(
        recent,
        _between(rng, np.maximum(birth + 1, d1 + 1), d2),
        _between(rng, np.maximum(birth + 1, d2 - 4 * YEAR), d1),
    )
    death = np.where(dead, np.minimum(death, d2), NA).astype(np.int32)

    # moves: two-period persons need some room between birth and the last possible move
    n_periods = _G_PERIODS[group]
    hi_move = np.minimum(d1, np.where(dead, death.astype(np.int64) - 1, d1))
    too_short = (n_periods > 1) & (hi_move - birth < 60) & ~(is_new & (new_kind == 1))
    home = _G_REGIONS[group, n_periods - 1]  # where they live now keeps its single-period group
    group[too_short] = np.where(home[too_short] == BXL, _G["bxl_native"], _G["vl_native"])
    n_periods = _G_PERIODS[group]
    lo_move = birth.astype(np.int64) + 30
    lo_move = np.where(group == _G["vl_from_abroad_new"], np.maximum(lo_move, d2 - 6 * YEAR), lo_move)
    hi_old = np.where(group == _G["vl_from_abroad_old"], np.maximum(lo_move, d2 - 6 * YEAR), hi_move)
    m_last = np.minimum(_between(rng, lo_move, np.minimum(hi_old, hi_move)), hi_move).astype(np.int64)
    m_first = _between(rng, lo_move, (lo_move + m_last) // 2).astype(np.int64)
    three = n_periods == 3
    m_first = np.where(three, np.minimum(m_first, m_last - 1), m_first)
    recent_move = (role == MEMBER) & ~dead & np.isin(group, _RECENT_MOVE_GROUPS) & (rng.random(P) < 0.05)
    m_last = np.where(recent_move, _between(rng, np.full(P, d1 + 1), d2), m_last)
    m_last = np.where(is_new & (new_kind == 1), join, m_last)
    starts = np.full((P, 3), NA, np.int32)
    starts[:, 0] = birth
    starts[:, 1] = np.where(n_periods == 2, m_last, np.where(three, m_first, NA))
    starts[:, 2] = np.where(three, m_last, NA)
    last_end = np.where(dead & (rng.random(P) < 0.5), death, NA).astype(np.int32)

    # affiliation
    by = _year(birth)
    t26 = _ymd(by + 26, 1, 1).astype(np.int64)
    cutoff = np.minimum(d1, np.where(dead, death.astype(np.int64), d1))
    u = rng.random(P)
    base = np.where(
        (u < 0.55) & (t26 <= cutoff),
        t26,
        np.where(u < 0.8, birth, _between(rng, birth, np.minimum(t26, cutoff))),
    ).astype(np.int64)
    moved_in = starts[:, 1].astype(np.int64)  # first move (into VL or BXL for these groups)
    aff = base.copy()
    into = np.isin(group, [_G["vl_from_wal"], _G["vl_from_abroad_old"], _G["vl_from_abroad_new"]])
    aff = np.where(into, np.maximum(base, moved_in), aff)
    joined_at_move = (group == _G["bxl_to_vl"]) & ~recent_move & (rng.random(P) < 0.5)
    aff = np.where(joined_at_move, np.maximum(base, moved_in), aff)
    # Brussels voluntary members: on time or late (after the deadline of docs/spec/rules.md E-WAITING)
    s_year = _year(np.where(moved_in == NA, birth, moved_in))
    s_month = _split(np.where(moved_in == NA, birth, moved_in))[1]
    deadline = _ymd(by + 27, 12, 31).astype(np.int64)
    from_abroad = group == _G["abroad_to_bxl"]
    deadline2 = np.where(s_month < 7, _ymd(s_year + 1, 12, 31), _ymd(s_year + 2, 12, 31)).astype(np.int64)
    deadline = np.where(from_abroad, np.maximum(deadline, deadline2), deadline)
    aff = np.where(from_abroad, np.maximum(base, moved_in), aff)
    voluntary = np.isin(group, [_G["bxl_native"], _G["abroad_to_bxl"]])
    late = voluntary & (rng.random(P) < 0.15) & (deadline + 1 <= cutoff)
    aff = np.where(late, _between(rng, deadline + 1, cutoff), aff)
    employer = np.isin(group, _EMPLOYER)
    aff = np.where(
        employer,
        _between(rng, np.maximum(_add_years(birth, 18), _day(dt.date(1995, 1, 1))), cutoff),
        aff,
    )
    aff = np.where(is_new, join, aff)  # newcomers affiliate on arrival
    aff_end = np.full(P, NA, np.int64)
    left = np.isin(group, _LEFT)
    aff = np.where(left, np.minimum(aff, m_last - 1), aff)
    aff_end = np.where(left, m_last - 1, aff_end)
    job_ended = employer & (rng.random(P) < 0.12)
    aff_end = np.where(job_ended, _between(rng, aff, d2), aff_end)
    aff = np.maximum(np.where(dead, np.minimum(aff, death), aff), birth)
    aff_end = np.where(dead & (aff_end == NA) & (rng.random(P) < 0.5), death, aff_end)
    aff_end = np.where(aff_end == NA, NA, np.maximum(aff_end, aff))
    away_basis = np.zeros(P, np.int8)  # RESIDENT_VL for those who left Flanders
    away_basis[employer] = np.where(rng.random(P) < 0.7, 2, 3)[employer]  # ABROAD_EMPLOYER_VL/BXL

    # EU/EEA insurance before arrival
    eu = np.full(P, NA, np.int64)
    newish = np.isin(group, [_G["vl_from_abroad_new"], _G["abroad_to_bxl"]]) & (rng.random(P) < 0.6)
    eu = np.where(newish, np.maximum(birth, moved_in - rng.integers(YEAR, 15 * YEAR, size=P)), eu)
    emp_eu = employer & (rng.random(P) < 0.3)
    eu = np.where(emp_eu, np.maximum(birth, aff - rng.integers(0, 10 * YEAR, size=P)), eu)
    old_eu = (group == _G["vl_from_abroad_old"]) & (rng.random(P) < 0.1)
    eu = np.where(old_eu, np.maximum(birth, moved_in - rng.integers(YEAR, 10 * YEAR, size=P)), eu)

    # membership in time
    member_from = np.where(is_new, join, ALWAYS).astype(np.int32)
    member_from[role == NON_MEMBER] = NA
    member_to = np.full(P, NA, np.int32)
    member_to[role == VANISHED] = _between(rng, np.full(P, d1 + 1), d2)[role == VANISHED]
    visible_from = np.where(is_new & (new_kind < 2), join, ALWAYS).astype(np.int32)

    # identity, zorgkas, name, IBAN
    bis = (rng.random(P) < np.where(np.isin(group, [*_EMPLOYER, _G["vl_from_abroad_new"]]), 0.25, 0.01)) & ~born_new
    insz = _insz_numbers(rng, birth, bis)
    k = len(codes)
    zk_p = _ZK_WEIGHTS if k == 6 else np.full(k, 1.0 / k)
    zk_old = rng.choice(k, size=P, p=zk_p).astype(np.int8)
    changer = (role == MEMBER) & (rng.random(P) < 0.001) & (k > 1)
    zk_new = np.where(changer, (zk_old + rng.integers(1, max(k, 2), size=P)) % k, zk_old).astype(np.int8)
    zk_change = np.where(changer, _between(rng, np.full(P, d1 + 1), d2), NA).astype(np.int32)
    male = (insz // 100) % 2 == 1
    first = np.where(male, rng.integers(0, len(_MALE), size=P), len(_MALE) + rng.integers(0, len(_FEMALE), size=P))
    name = pl.select(
        pl.concat_str(
            [
                pl.lit(_strs(_MALE + _FEMALE, first)),
                pl.lit(" "),
                pl.lit(_strs(_SURNAMES, rng.integers(0, len(_SURNAMES), size=P))),
            ]
        )
    ).to_series()
    abroad_home = _G_REGIONS[group, np.maximum(_G_PERIODS[group] - 1, 0)] >= WAL
    iban, _ = _ibans(rng, P, p_foreign=np.where(abroad_home, 0.5, 0.0))
    iban_late = iban.is_not_null().to_numpy() & (rng.random(P) < 0.002)
    iban_from = np.where(iban_late, _between(rng, np.full(P, d1 + 1), d2), ALWAYS).astype(np.int32)

    # increased allowance: ~15% of persons, one or two periods
    hi = np.minimum(d2, death.astype(np.int64))
    ia = np.full((P, 2, 2), NA, np.int32)
    has_ia = rng.random(P) < 0.15
    s1 = _between(rng, np.maximum(np.maximum(birth, visible_from), _day(dt.date(2008, 1, 1))), hi)
    e1 = np.where(rng.random(P) < 0.4, s1 + rng.integers(180, 2500, size=P), NA)
    second = has_ia & (e1 != NA) & (rng.random(P) < 0.5)
    s2 = np.where(second, e1 + rng.integers(30, 1000, size=P), NA)
    second &= s2 <= hi
    e2 = np.where(second & (rng.random(P) < 0.3), s2 + rng.integers(180, 2000, size=P), NA)
    ia[:, 0, 0] = np.where(has_ia, s1, NA)
    ia[:, 0, 1] = np.where(has_ia, e1, NA)
    ia[:, 1, 0] = np.where(second, s2, NA)
    ia[:, 1, 1] = np.where(second, e2, NA)

    return _Population(
        seed=seed,
        d1=d1,
        d2=d2,
        as_of=as_of,
        codes=list(codes),
        role=role,
        member_from=member_from,
        member_to=member_to,
        visible_from=visible_from,
        birth=birth,
        death=death,
        age=age,
        insz=insz,
        name=name,
        zk_old=zk_old,
        zk_new=zk_new,
        zk_change=zk_change,
        group=group,
        starts=starts,
        last_end=last_end,
        away_basis=away_basis,
        aff_start=aff.astype(np.int32),
        aff_end=aff_end.astype(np.int32),
        eu_since=eu.astype(np.int32),
        iban=iban,
        iban_from=iban_from,
        ia=ia,
        defaulter=rng.random(P) < 0.04,
    )


# ---------------------------------------------------------------------------------------------
# feeds: each builder draws its latent table and returns snapshot(d) -> DataFrame

Snapshot = Callable[[int], pl.DataFrame]


# ---------------------------------------------------------------------------------------------
# letters: language and postal address (the optional columns of members, docs/spec/feeds.md)

# (postal code, municipality) by region; Brussels municipalities in Dutch and in French
_PLACES_VL = [
    ("2000", "Antwerpen"), ("2060", "Antwerpen"), ("2100", "Deurne"), ("2300", "Turnhout"), ("2400", "Mol"),
    ("2500", "Lier"), ("2800", "Mechelen"), ("2900", "Schoten"), ("3000", "Leuven"), ("3010", "Kessel-Lo"),
    ("3200", "Aarschot"), ("3300", "Tienen"), ("3500", "Hasselt"), ("3600", "Genk"), ("3700", "Tongeren"),
    ("3800", "Sint-Truiden"), ("8000", "Brugge"), ("8400", "Oostende"), ("8500", "Kortrijk"),
    ("8800", "Roeselare"), ("8900", "Ieper"), ("9000", "Gent"), ("9100", "Sint-Niklaas"),
    ("9200", "Dendermonde"), ("9300", "Aalst"), ("9400", "Ninove"), ("9700", "Oudenaarde"), ("1500", "Halle"),
    ("1700", "Dilbeek"), ("1800", "Vilvoorde"), ("1930", "Zaventem"), ("3080", "Tervuren"),
]  # fmt: skip
_PLACES_BXL = [
    ("1000", "Brussel", "Bruxelles"), ("1020", "Laken", "Laeken"), ("1030", "Schaarbeek", "Schaerbeek"),
    ("1040", "Etterbeek", "Etterbeek"), ("1050", "Elsene", "Ixelles"), ("1060", "Sint-Gillis", "Saint-Gilles"),
    ("1070", "Anderlecht", "Anderlecht"), ("1080", "Sint-Jans-Molenbeek", "Molenbeek-Saint-Jean"),
    ("1090", "Jette", "Jette"), ("1140", "Evere", "Evere"), ("1150", "Sint-Pieters-Woluwe", "Woluwe-Saint-Pierre"),
    ("1160", "Oudergem", "Auderghem"), ("1180", "Ukkel", "Uccle"), ("1190", "Vorst", "Forest"),
    ("1200", "Sint-Lambrechts-Woluwe", "Woluwe-Saint-Lambert"),
    ("1210", "Sint-Joost-ten-Node", "Saint-Josse-ten-Noode"),
]  # fmt: skip
_PLACES_WAL = [
    ("1300", "Wavre"), ("1340", "Ottignies-Louvain-la-Neuve"), ("1400", "Nivelles"), ("1410", "Waterloo"),
    ("1480", "Tubize"), ("4000", "Liège"), ("4100", "Seraing"), ("4500", "Huy"), ("4800", "Verviers"),
    ("5000", "Namur"), ("5100", "Jambes"), ("5500", "Dinant"), ("6000", "Charleroi"), ("6200", "Châtelet"),
    ("6700", "Arlon"), ("6900", "Marche-en-Famenne"), ("7000", "Mons"), ("7100", "La Louvière"),
    ("7500", "Tournai"), ("7700", "Mouscron"),
]  # fmt: skip
_PLACES_ABROAD = [  # (country, postal code, city, street)
    ("NL", "4811 AB", "Breda", "Dorpsstraat"), ("NL", "5611 AB", "Eindhoven", "Stationsweg"),
    ("FR", "59000", "Lille", "Rue de la République"), ("FR", "75011", "Paris", "Rue Oberkampf"),
    ("DE", "52062", "Aachen", "Hauptstraße"), ("LU", "L-1009", "Luxembourg", "Rue de la Gare"),
]  # fmt: skip
_STREETS_NL = [
    "Kerkstraat", "Stationsstraat", "Dorpsstraat", "Molenstraat", "Schoolstraat", "Nieuwstraat", "Kapelstraat",
    "Beekstraat", "Hoogstraat", "Lindenlaan", "Veldstraat", "Kasteelstraat",
]  # fmt: skip
_STREETS_FR = [
    "Rue de la Station", "Rue de l'Église", "Chaussée de Louvain", "Rue du Moulin", "Rue Haute", "Place communale",
    "Rue des Écoles", "Avenue des Tilleuls", "Rue du Château", "Rue de la Gare",
]  # fmt: skip
# share of French-speaking members by the region they live in (a Flemish zorgkas: few in Flanders)
_P_FRENCH = {VL: 0.01, BXL: 0.40, WAL: 0.40, ABROAD: 0.15}
_P_NO_ADDRESS = 0.012  # no address at all
_P_NO_STREET = 0.003  # an address without its street: incomplete as well


def _addresses(pop: _Population, rng: np.random.Generator) -> Callable[[np.ndarray, np.ndarray], dict]:
    """Per person, the draws of their language and address; `address(idx, region)` gives the optional
    columns of members for the persons `idx` living in `region` (one per person) on a delivery date.

    The language follows the region (`_P_FRENCH`); the postal code lies in the region (Brussels 1000-1299,
    Wallonia 1300-1499 and 4000-7999, Flanders the rest; abroad a foreign code and its country), so a
    person who moves gets a new address. About 1.5% have no complete address (docs/spec/feeds.md: address_missing).
    Drawn from the members feed's own generator: the other columns and feeds do not change.
    """
    P = pop.size
    u_language, u_address = rng.random(P), rng.random(P)
    place, street = rng.integers(0, 1 << 30, size=P), rng.integers(0, 1 << 30, size=P)
    number = rng.integers(1, 250, size=P)
    # one table of places (postal code, city in Dutch, city in French, country), VL, BXL, WAL, abroad in turn
    places = (
        [(p, c, c, "BE") for p, c in _PLACES_VL]
        + [(p, nl, fr, "BE") for p, nl, fr in _PLACES_BXL]
        + [(p, c, c, "BE") for p, c in _PLACES_WAL]
        + [(p, c, c, country) for country, p, c, _ in _PLACES_ABROAD]
    )
    sizes = np.array([len(_PLACES_VL), len(_PLACES_BXL), len(_PLACES_WAL), len(_PLACES_ABROAD)])
    offsets = np.r_[0, np.cumsum(sizes)[:-1]]
    cities = [p[1] for p in places] + [p[2] for p in places]  # Dutch names, then French
    streets = _STREETS_NL + _STREETS_FR + [s for *_, s in _PLACES_ABROAD]
    p_french = np.array([_P_FRENCH[r] for r in range(len(REGIONS))])

    def address(idx: np.ndarray, region: np.ndarray) -> dict[str, pl.Series]:
        french = u_language[idx] < p_french[region]
        row = offsets[region] + place[idx] % sizes[region]
        s = street[idx]
        street_row = np.where(french, len(_STREETS_NL) + s % len(_STREETS_FR), s % len(_STREETS_NL))
        street_row = np.where(region == ABROAD, len(_STREETS_NL) + len(_STREETS_FR) + row - offsets[ABROAD], street_row)
        none = pl.Series(u_address[idx] < _P_NO_ADDRESS)
        no_street = none | pl.Series(u_address[idx] > 1 - _P_NO_STREET)

        def kept(values: pl.Series, missing: pl.Series) -> pl.Series:
            return values.zip_with(~missing, pl.Series([None], dtype=pl.String))

        street_text = _strs(streets, street_row) + " " + pl.Series(number[idx]).cast(pl.String)
        return {
            "language": _strs(["NL", "FR"], french.astype(np.int8)),
            "street": kept(street_text, no_street),
            "postal_code": kept(_strs([p[0] for p in places], row), none),
            "city": kept(_strs(cities, row + np.where(french, len(places), 0)), none),
            "country": kept(_strs([p[3] for p in places], row), none),
        }

    return address


def _members(pop: _Population, rng: np.random.Generator) -> Snapshot:
    address = _addresses(pop, rng)

    def snapshot(d: int) -> pl.DataFrame:
        idx = np.flatnonzero((pop.member_from <= d) & (d < pop.member_to))
        region = pop.domicile(d)[idx]
        basis = np.where(region == VL, 0, np.where(region == BXL, 1, pop.away_basis[idx]))
        zk = np.where(pop.zk_change[idx] <= d, pop.zk_new[idx], pop.zk_old[idx])
        death = pop.death[idx]
        aff_end = pop.aff_end[idx]
        eu = pop.eu_since[idx]
        iban = pop.iban.gather(idx)
        late_iban = pop.iban_from[idx] > d
        if late_iban.any():
            iban = iban.scatter(np.flatnonzero(late_iban), None)
        return _frame(
            {
                "insz": _insz_str(pop.insz[idx]),
                "zorgkas": _strs(pop.codes, zk),
                "name": pop.name.gather(idx),
                "birth_date": _dates(pop.birth[idx]),
                "death_date": _dates(death, death <= d),
                "domicile_region": _strs(REGIONS, region),
                "affiliation_basis": _strs(AFFILIATION_BASES, basis),
                "affiliation_start": _dates(pop.aff_start[idx]),
                "affiliation_end": _dates(aff_end, aff_end < d),
                "eu_insured_since": _dates(eu, eu <= d),
                "iban": iban,
                **address(idx, region),
            }
        )

    return snapshot


def _residence_periods(pop: _Population, rng: np.random.Generator) -> Snapshot:
    flat = np.flatnonzero(pop.starts.ravel() != NA)
    p, k = flat // 3, (flat % 3).astype(np.int8)
    nxt = np.concatenate([pop.starts[:, 1:], np.full((pop.size, 1), NA, np.int32)], axis=1)
    ends = np.where(nxt == NA, pop.last_end[:, None], nxt - 1).astype(np.int32)
    start, end = pop.starts.ravel()[flat], ends.ravel()[flat]
    region = _G_REGIONS[pop.group[p], k]
    vf = pop.visible_from[p]

    def snapshot(d: int) -> pl.DataFrame:
        keep = (vf <= d) & (start <= d)
        return _frame(
            {
                "insz": _insz_str(pop.insz[p[keep]]),
                "region": _strs(REGIONS, region[keep]),
                "start_date": _dates(start[keep]),
                "end_date": _dates(end[keep], end[keep] < d),
            }
        )

    return snapshot


def _increased_allowance(pop: _Population, rng: np.random.Generator) -> Snapshot:
    flat = np.flatnonzero(pop.ia[:, :, 0].ravel() != NA)
    p = flat // 2
    start, end = pop.ia[:, :, 0].ravel()[flat], pop.ia[:, :, 1].ravel()[flat]
    vf = pop.visible_from[p]

    def snapshot(d: int) -> pl.DataFrame:
        keep = (vf <= d) & (start <= d)
        return _frame(
            {
                "insz": _insz_str(pop.insz[p[keep]]),
                "start_date": _dates(start[keep]),
                "end_date": _dates(end[keep], end[keep] < d),
            }
        )

    return snapshot


_PREMIUM_NORMAL = {2023: 58.0, 2024: 62.0, 2025: 64.0, 2026: 100.0}
_PREMIUM_REDUCED = {2023: 29.0, 2024: 31.0, 2025: 32.0, 2026: 35.0}  # 2025 reduced: not published


def premium_years(as_of: dt.date) -> list[int]:
    years = list(range(as_of.year - 3, as_of.year))
    if as_of > dt.date(as_of.year, 4, 30):
        years.append(as_of.year)
    return years


def _premium_payments(pop: _Population, rng: np.random.Generator) -> Snapshot:
    years = np.array(premium_years(pop.as_of))
    ny = years.size
    by = _year(pop.birth)
    liable = np.zeros((pop.size, ny), bool)
    reduced = np.zeros((pop.size, ny), bool)
    for j, y in enumerate(years):
        jan1, dec31 = _day(dt.date(int(y), 1, 1)), _day(dt.date(int(y), 12, 31))
        liable[:, j] = (
            (pop.role != NON_MEMBER)
            & (by + 26 <= y)
            & (pop.aff_start <= dec31)
            & (pop.aff_end >= jan1)
            & (pop.death >= jan1)
        )
        ref = _day(dt.date(int(y) - 1, 1, 1))
        for k in (0, 1):
            reduced[:, j] |= (pop.ia[:, k, 0] <= ref) & (ref <= pop.ia[:, k, 1])
    flat = np.flatnonzero(liable.ravel())
    del liable
    p, j = (flat // ny).astype(np.int32), (flat % ny).astype(np.int8)
    is_reduced = reduced.ravel()[flat]
    del flat, reduced
    year = years[j].astype(np.int16)
    normal = np.array([_PREMIUM_NORMAL[min(max(int(y), 2023), 2026)] for y in years])
    low = np.array([_PREMIUM_REDUCED[min(max(int(y), 2023), 2026)] for y in years])
    amount_due = np.where(is_reduced, low[j], normal[j])
    del is_reduced
    april30 = np.array([_day(dt.date(int(y), 4, 30)) for y in years], np.int32)
    due = np.maximum(april30[j], pop.aff_start[p] + 30).astype(np.int32)
    del j
    n = p.size
    u = rng.random(n)
    # status: 0 on time, 1 late, 2 partial, 3 unpaid
    status = np.select([u < 0.90, u < 0.95, u < 0.97], [0, 1, 2], 3).astype(np.int8)
    del u
    status = np.where(pop.defaulter[p], np.where(rng.random(n) < 0.85, 3, 1), status).astype(np.int8)
    offset = np.select(
        [status == 0, status == 1, status == 2],
        [-rng.integers(0, 75, size=n), rng.integers(1, 365, size=n), rng.integers(-60, 200, size=n)],
        0,
    ).astype(np.int32)
    paid = due + offset
    del offset
    paid = np.where(status == 0, np.maximum(paid, np.minimum(pop.aff_start[p], due)), paid)
    paid = np.where(status == 3, NA, paid).astype(np.int32)
    amount_paid = np.select(
        [status <= 1, status == 2], [amount_due, np.round(amount_due * rng.uniform(0.2, 0.9, size=n), 2)], 0.0
    )
    del status

    def snapshot(d: int) -> pl.DataFrame:
        keep = np.flatnonzero(pop.member_from[p] <= d)
        paid_d = paid[keep]
        arrived = paid_d <= d  # NA (unpaid) is never <= d
        return _frame(
            {
                "insz": _insz_str(pop.insz[p[keep]]),
                "premium_year": pl.Series(year[keep].astype(np.int64)),
                "amount_due": pl.Series(amount_due[keep]),
                "amount_paid": pl.Series(np.where(arrived, amount_paid[keep], 0.0)),
                "due_date": _dates(due[keep]),
                "paid_date": _dates(paid_d, arrived),
            }
        )

    return snapshot


def _event_dates(rng, pop: _Population, p: np.ndarray, years_back: float) -> np.ndarray:
    """Event days of the persons `p` over the last `years_back` years (within their life)."""
    lo = np.maximum(pop.lo[p].astype(np.int64), pop.d2 - int(years_back * YEAR))
    return _between(rng, lo, pop.hi[p])


def _order_ids(dates: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Running numbers in the order of the event date (ties: person), from 1."""
    order = np.lexsort((p, dates))
    ids = np.empty(dates.size, np.int64)
    ids[order] = np.arange(1, dates.size + 1)
    return ids


def _score(rng, n: int, mean: float, sd: float, top: float, step: float) -> np.ndarray:
    return np.clip(np.round(rng.normal(mean, sd, size=n) / step) * step, 0, top)


def _belrai_screeners(pop: _Population, rng: np.random.Generator) -> Snapshot:
    age = pop.age
    prob = np.select([age < 18, age < 65, age < 80], [0.004, 0.015, 0.09], 0.3)
    persons = _pick(rng, prob, np.ones(pop.size, bool), 5)
    counts = rng.choice([1, 2, 3], size=persons.size, p=[0.55, 0.3, 0.15])
    p, _ = _repeat_rows(persons, counts)
    n = p.size
    date = _event_dates(rng, pop, p, 4)
    order = np.lexsort((date, p))
    p, date = p[order], date[order]
    kind = rng.choice(3, size=n, p=[0.45, 0.25, 0.30])
    recognised = rng.random(n) < 0.9
    total = _score(rng, n, 11.5, 5.0, 35, 0.5)
    adl = _score(rng, n, 2.6, 1.6, 6, 0.5)
    iadl = _score(rng, n, 1.9, 1.2, 4, 0.5)
    # scores on and just under the thresholds (13 total, 5.5 ADL + IADL)
    u = rng.random(n)
    total = np.select([u < 0.03, u < 0.06], [13.0, 12.5], total)
    v = rng.random(n)
    adl = np.select([v < 0.03, v < 0.06], [3.5, 3.0], adl)
    iadl = np.where(v < 0.06, 2.0, iadl)
    valid_until = np.where(rng.random(n) < 0.2, date + rng.integers(90, 1095, size=n), NA).astype(np.int32)
    ids = _order_ids(date, p)
    vf = pop.visible_from[p]

    def snapshot(d: int) -> pl.DataFrame:
        keep = (vf <= d) & (date <= d)
        return _frame(
            {
                "assessment_id": _ids("BR", ids[keep]),
                "insz": _insz_str(pop.insz[p[keep]]),
                "assessment_date": _dates(date[keep]),
                "service_kind": _strs(SERVICE_KINDS, kind[keep]),
                "service_recognised": pl.Series(recognised[keep]),
                "total_score": pl.Series(total[keep]),
                "adl_score": pl.Series(adl[keep]),
                "iadl_score": pl.Series(iadl[keep]),
                "valid_until": _dates(valid_until[keep]),
            }
        )

    return snapshot


def _medsoc_scales(pop: _Population, rng: np.random.Generator) -> Snapshot:
    age = pop.age
    everyone = np.ones(pop.size, bool)
    prob = np.select([age < 21, age < 65], [0.035, 0.025], 0.09)
    persons = _pick(rng, prob, everyone, 8)
    page = age[persons]
    pkind = np.where(page < 21, 3, np.where(page < 65, 0, np.where(rng.random(persons.size) < 0.4, 1, 2)))
    _ensure_each(rng, pkind, page >= 65, [1, 2])
    _ensure_each(rng, pkind, page < 21, [3])
    _ensure_each(rng, pkind, (page >= 21) & (page < 65), [0])
    counts = rng.choice([1, 2], size=persons.size, p=[0.7, 0.3])
    p, _ = _repeat_rows(persons, counts)
    kind = np.repeat(pkind, counts)
    n = p.size
    decision = _event_dates(rng, pop, p, 6)
    order = np.lexsort((decision, p))
    p, kind, decision = p[order], kind[order], decision[order]
    valid_from = np.where(
        rng.random(n) < 0.6, decision - rng.integers(0, 180, size=n), decision + rng.integers(0, 31, size=n)
    )
    valid_from = np.maximum(valid_from, pop.birth[p]).astype(np.int32)
    limited = rng.random(n) < np.where(kind == 3, 0.6, 0.25)
    valid_until = np.where(limited, valid_from + rng.integers(YEAR, 5 * YEAR, size=n), NA).astype(np.int32)
    ztk = kind == 3
    score = np.where(ztk, np.nan, np.clip(np.round(rng.normal(12.5, 3.5, size=n)), 0, 18))
    score = np.where(~ztk & (rng.random(n) < 0.05), 14.0, score)
    # each pillar within its maximum (ztk_pillar_1_max..3: 6, 12, 18; feeds.md R-RANGE): the same draws as before
    pillars = [np.where(ztk, np.clip(np.round(rng.normal(6, 3, size=n)), 0, top), np.nan) for top in (6, 12, 18)]
    ids = _order_ids(decision, p)
    vf = pop.visible_from[p]

    def snapshot(d: int) -> pl.DataFrame:
        keep = (vf <= d) & (decision <= d)
        return _frame(
            {
                "decision_id": _ids("MS", ids[keep]),
                "insz": _insz_str(pop.insz[p[keep]]),
                "scale_kind": _strs(SCALE_KINDS, kind[keep]),
                "decision_date": _dates(decision[keep]),
                "valid_from": _dates(valid_from[keep]),
                "valid_until": _dates(valid_until[keep]),
                "score": pl.Series(score[keep], nan_to_null=True),
                "pillar_1": pl.Series(pillars[0][keep], nan_to_null=True),
                "pillar_2": pl.Series(pillars[1][keep], nan_to_null=True),
                "pillar_3": pl.Series(pillars[2][keep], nan_to_null=True),
            }
        )

    return snapshot


_FACILITY_ABBR = ["WZC", "PVT", "GAW", "CKV", "CDV"]  # ids: woonzorgcentrum, ..., centrum dagverzorging
_FACILITY_POOL = np.array([820, 30, 400, 500, 200])
WZC, PVT, SERVICEFLAT, KORTVERBLIJF, DAGVERZORGING = range(5)


def _facility_latent(pop: _Population, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The latent stays of the facility_stays feed (every stay, whenever it starts): also what synthdata/cases.py
    draws the applications of the W-APPLY population from (the same seed gives the same stays)."""
    age = pop.age
    prob = np.select([age < 18, age < 65, age < 80], [0.0, 0.01, 0.07], 0.3)
    persons = _pick(rng, prob, np.ones(pop.size, bool), 8)
    counts = np.where(rng.random(persons.size) < 0.28, 2, 1)
    p, rank = _repeat_rows(persons, counts)
    n = p.size
    two = np.repeat(counts, counts) == 2
    kind = rng.choice(5, size=n, p=[0.55, 0.06, 0.14, 0.12, 0.13])
    kind = np.where(
        two & (rank == 0), rng.choice([KORTVERBLIJF, DAGVERZORGING, SERVICEFLAT], size=n, p=[0.5, 0.3, 0.2]), kind
    )
    kind = np.where(two & (rank == 1), np.where(rng.random(n) < 0.85, WZC, PVT), kind)
    _ensure_each(rng, kind, ~two, range(5))
    hi = pop.hi[p].astype(np.int64)
    admission = _between(rng, np.maximum(pop.lo[p], pop.d2 - 8 * YEAR), hi - 30).astype(np.int64)
    short = admission + rng.integers(3, 90, size=n)
    # the second stay follows the first one (rows of a person are consecutive)
    first_discharge = np.where(two & (rank == 1), np.roll(short, 1), 0)
    admission = np.where(two & (rank == 1), first_discharge + rng.integers(0, 45, size=n), admission)
    u = rng.random(n)
    discharge = np.select(
        [kind == KORTVERBLIJF, (kind == DAGVERZORGING) & (u < 0.35), (kind == SERVICEFLAT) & (u < 0.12), u < 0.08],
        [
            short,
            admission + rng.integers(60, 1500, size=n),
            admission + rng.integers(90, 2000, size=n),
            admission + rng.integers(30, 900, size=n),
        ],
        NA,
    )
    discharge = np.where(two & (rank == 0), short, discharge)
    death = pop.death[p].astype(np.int64)
    discharge = np.where((death != NA) & (death >= admission) & (discharge > death), death, discharge)
    keep_rows = admission <= hi  # nothing after death or as_of
    region = rng.choice([VL, BXL, WAL], size=n, p=[0.88, 0.08, 0.04])
    region = np.where((pop.domicile(pop.d2)[p] == BXL) & (rng.random(n) < 0.7), BXL, region)
    recognised = rng.random(n) < np.select([region == VL, region == BXL], [0.97, 0.35], 0.03)
    ground_kind = (kind == WZC) | (kind == PVT)
    special = np.where(ground_kind, rng.choice(4, size=n, p=[0.97, 0.012, 0.01, 0.008]), 0)
    _ensure_each(rng, special, ground_kind & (region == VL) & recognised & keep_rows, [1, 2, 3])
    for reg in (VL, BXL, WAL):
        _ensure_each(rng, recognised.view(np.int8), keep_rows & (region == reg), [0, 1])
    number = rng.integers(1, _FACILITY_POOL[kind] + 1)
    sel = np.flatnonzero(keep_rows)
    latent = dict(p=p, kind=kind, region=region, recognised=recognised, special=special, number=number)
    latent = {k: a[sel] for k, a in latent.items()}
    return latent | {"admission": admission[sel].astype(np.int32), "discharge": discharge[sel].astype(np.int32)}


def facility_rng(pop: _Population) -> np.random.Generator:
    """The generator the facility_stays feed draws its stays from (seed `[seed, feed number]`, see `generate`)."""
    return np.random.default_rng([pop.seed, FEED_NAMES.index("facility_stays") + 1])


def _facility_stays(pop: _Population, rng: np.random.Generator) -> Snapshot:
    s = _facility_latent(pop, rng)
    p, kind, region, recognised, special, number = (
        s[k] for k in ("p", "kind", "region", "recognised", "special", "number")
    )
    admission, discharge = s["admission"], s["discharge"]
    ids = _order_ids(admission, p)
    vf = pop.visible_from[p]
    facility_id = pl.select(
        pl.concat_str(
            [
                pl.lit(_strs(_FACILITY_ABBR, kind)),
                pl.lit("-"),
                pl.lit(_strs(REGIONS, region)),
                pl.lit("-"),
                _pad(number, 5),
            ]
        )
    ).to_series()

    def snapshot(d: int) -> pl.DataFrame:
        keep = (vf <= d) & (admission <= d)
        idx = np.flatnonzero(keep)
        return _frame(
            {
                "stay_id": _ids("FS", ids[keep]),
                "insz": _insz_str(pop.insz[p[keep]]),
                "facility_id": facility_id.gather(idx),
                "facility_kind": _strs(FACILITY_KINDS, kind[keep]),
                "facility_region": _strs(REGIONS, region[keep]),
                "recognised_by_flanders": pl.Series(recognised[keep]),
                "admission_date": _dates(admission[keep]),
                "discharge_date": _dates(discharge[keep], discharge[keep] < d),
                "special_category": _strs([None, *SPECIAL_CATEGORIES], special[keep]),
            }
        )

    return snapshot


_SK = {k: i for i, k in enumerate(SUPPORT_KINDS)}


def _absence(rng, n: int) -> np.ndarray:
    u = rng.random(n)
    return np.select(
        [u < 0.38, u < 0.70, u < 0.94],
        [rng.integers(0, 31, size=n), rng.integers(31, 101, size=n), rng.integers(101, 201, size=n)],
        rng.choice([30, 31, 100, 101], size=n),
    )


def _vaph_support(pop: _Population, rng: np.random.Generator) -> Snapshot:
    age = pop.age
    P = pop.size
    everyone = np.ones(P, bool)
    adult = age >= 18
    minor = (age >= 3) & (age < 18)
    hi = pop.hi.astype(np.int64)
    lo = pop.lo.astype(np.int64)
    d2 = pop.d2
    parts = []  # (person, kind, start, end, school_year, absence)

    def add(p, kind, start, end, school_year=None, absence=None):
        n = p.size
        parts.append(
            (
                p,
                np.full(n, _SK[kind], np.int8),
                np.asarray(start, np.int64),
                np.asarray(end, np.int64),
                np.full(n, -1) if school_year is None else school_year,
                np.full(n, -1) if absence is None else absence,
            )
        )

    def ended(start, share, a, b):
        n = start.size
        return np.where(rng.random(n) < share, start + rng.integers(a, b, size=n), NA)

    p = _pick(rng, 0.01, everyone)
    s = _between(rng, np.maximum(lo[p], _day(dt.date(2008, 1, 1))), hi[p])
    add(p, "SUPPORT_NEED", s, ended(s, 0.08, YEAR, 3000))
    p = _pick(rng, 0.015, adult)
    s = _between(rng, np.maximum(_add_years(pop.birth[p], 18), _day(dt.date(2017, 1, 1))), hi[p])
    add(p, "PVB", s, ended(s, 0.08, 180, 2500))
    p = _pick(rng, 0.005, adult & (pop.birth < _day(dt.date(2000, 1, 1))), 4)
    early = rng.random(p.size) < 0.5
    early[: min(2, p.size)] = True  # T-NRTH-2017 cases exist at every size
    lo_n = np.maximum(_add_years(pop.birth[p], 16), _day(dt.date(2005, 1, 1)))
    s = np.where(
        early,
        _between(rng, lo_n, _day(dt.date(2016, 12, 31))),
        _between(rng, np.maximum(_add_years(pop.birth[p], 18), _day(dt.date(2017, 1, 2))), hi[p]),
    )
    add(p, "NRTH", s, ended(s, 0.15, YEAR, 4000))
    for kind in ("ADULT_FACILITY_OUTSIDE_VL", "ADULT_AMBULATORY_OUTSIDE_VL"):
        p = _pick(rng, 0.0005, adult)
        s = _between(rng, np.maximum(_add_years(pop.birth[p], 18), d2 - 6 * YEAR), hi[p])
        add(p, kind, s, ended(s, 0.3, 90, 2000))
    p = _pick(rng, 0.003, minor)
    s = _between(rng, np.maximum(lo[p], d2 - 8 * YEAR), hi[p])
    add(p, "PAB", s, ended(s, 0.25, 180, 2500))
    # school years: the one running on as_of is `current`
    y2, m2, _ = _split(d2)
    current = int(y2 if m2 >= 9 else y2 - 1)
    p = _pick(rng, 0.0025, minor)
    y = current - rng.integers(0, 4, size=p.size)
    y = np.maximum(y, _year(pop.birth[p]) + 3)
    s = _ymd(y, 9, 1)
    add(p, "MPI_BOARDING", s, np.where(rng.random(p.size) < 0.5, _ymd(y + 1, 8, 31), NA))
    for kind, prob in (("MFC_FULLTIME", 0.006), ("MINOR_RESIDENTIAL_OUTSIDE_VL", 0.0025)):
        persons = _pick(rng, prob, minor, 4)
        no_school_year = rng.random(persons.size) < 0.2
        no_school_year[:1] = False
        q = persons[no_school_year]
        s = _between(rng, np.maximum(lo[q], d2 - 5 * YEAR), hi[q])
        add(q, kind, s, ended(s, 0.4, 60, 1500))
        persons = persons[~no_school_year]
        last = current - (rng.random(persons.size) < 0.25)
        counts = rng.integers(1, 5, size=persons.size)
        q, rank = _repeat_rows(persons, counts)
        y = np.repeat(last, counts) - rank
        ok = _ymd(y, 9, 1) >= _add_years(pop.birth[q], 3)
        ok[: min(1, ok.size)] = True
        q, y = q[ok], y[ok]
        add(q, kind, _ymd(y, 9, 1), _ymd(y + 1, 8, 31), y.astype(np.int64), _absence(rng, q.size))

    p = np.concatenate([a[0] for a in parts])
    kind, start, end, school_year, absence = (np.concatenate([a[i] for a in parts]) for i in range(1, 6))
    death = pop.death[p].astype(np.int64)
    end = np.where((death != NA) & (death >= start) & (end > death) & (school_year < 0), death, end)
    sel = np.flatnonzero(start <= hi[p])
    order = sel[np.lexsort((start[sel], p[sel]))]
    p, kind, start, end, school_year, absence = (a[order] for a in (p, kind, start, end, school_year, absence))
    start, end = start.astype(np.int32), end.astype(np.int32)
    ids = _order_ids(start, p)
    vf = pop.visible_from[p]

    def snapshot(d: int) -> pl.DataFrame:
        keep = (vf <= d) & (start <= d)
        s, e, sy, ab = start[keep], end[keep], school_year[keep], absence[keep]
        running = e >= d
        share = np.clip((d - s.astype(np.int64) + 1) / (e.astype(np.int64) - s + 1), 0, 1)
        ab = np.where((sy >= 0) & running, np.floor(ab * share), ab).astype(np.int64)
        with_year = pl.Series(sy >= 0)
        return _frame(
            {
                "record_id": _ids("VA", ids[keep]),
                "insz": _insz_str(pop.insz[p[keep]]),
                "support_kind": _strs(SUPPORT_KINDS, kind[keep]),
                "start_date": _dates(s),
                "end_date": _dates(e, e < d),
                "school_year": pl.select(
                    pl.when(pl.lit(with_year)).then(pl.lit(pl.Series(sy, dtype=pl.Int64)))
                ).to_series(),
                "absence_days": pl.select(
                    pl.when(pl.lit(with_year)).then(pl.lit(pl.Series(ab, dtype=pl.Int64)))
                ).to_series(),
            }
        )

    return snapshot


def _case_decisions(pop: _Population, rng: np.random.Generator) -> Snapshot:
    """The case_decisions feed: synthdata/cases.py (imported here, not on top: it builds on this module)."""
    from synthdata.cases import case_decisions

    return case_decisions(pop, rng)


_BUILDERS: dict[str, Callable[[_Population, np.random.Generator], Snapshot]] = {
    "members": _members,
    "residence_periods": _residence_periods,
    "increased_allowance": _increased_allowance,
    "premium_payments": _premium_payments,
    "belrai_screeners": _belrai_screeners,
    "medsoc_scales": _medsoc_scales,
    "facility_stays": _facility_stays,
    "vaph_support": _vaph_support,
    "case_decisions": _case_decisions,
}


# ---------------------------------------------------------------------------------------------
# deliberate bad rows


@dataclass
class _Ctx:
    rng: np.random.Generator
    d: int
    codes: list[str]


@dataclass(frozen=True)
class _Variant:
    rule: str
    name: str
    fn: Callable[[pl.DataFrame, _Ctx], pl.DataFrame] | None = None
    kind: str = "modify"  # modify the rows | collide: first half takes the key of the second | append a copy
    cap: int | None = None  # at most this many rows per delivery (null keys: no accidental duplicates)


RATE_PER_RULE = 0.0004  # share of a feed's rows per rule and delivery
MIN_PER_RULE = 3


def _bad_insz(how: str) -> Callable[[pl.DataFrame, _Ctx], pl.DataFrame]:
    """Invalid insz that keep the first nine digits (so they stay distinct)."""

    def fn(sub: pl.DataFrame, ctx: _Ctx) -> pl.DataFrame:
        s = pl.col("insz")
        base9 = s.str.slice(0, 9).cast(pl.Int64)
        pre = insz_check_digits(base9, False)
        post = insz_check_digits(base9, True)
        wrong = pre % 97 + 1
        wrong = pl.when(wrong == post).then(wrong % 97 + 1).otherwise(wrong)
        wrong_check = pl.concat_str([s.str.slice(0, 9), wrong.cast(pl.String).str.zfill(2)])
        if how == "check_digits":
            new = wrong_check
        elif how == "length":
            new = pl.when(pl.int_range(pl.len()) % 2 == 0).then(s.str.slice(0, 10)).otherwise(s + "0")
        elif how == "separators":
            new = pl.format("{}.{}.{}-{}.{}", *(s.str.slice(a, b) for a, b in ((0, 2), (2, 2), (4, 2), (6, 3), (9, 2))))
        elif how == "letter":
            new = pl.concat_str([s.str.slice(0, 9), pl.lit("X"), s.str.slice(10, 1)])
        else:  # month 60-72: invalid month with check digits of the rule the number used
            mm = s.str.slice(2, 2).cast(pl.Int64)
            shifted = base9 + 60 * 10**5
            used_pre = pre == s.str.slice(9, 2).cast(pl.Int64)
            cc = pl.when(used_pre).then(insz_check_digits(shifted, False)).otherwise(insz_check_digits(shifted, True))
            month = pl.concat_str([shifted.cast(pl.String).str.zfill(9), cc.cast(pl.String).str.zfill(2)])
            new = pl.when(mm <= 12).then(month).otherwise(wrong_check)
        return sub.with_columns(new.alias("insz"))

    return fn


def _null(col: str) -> Callable:
    return lambda sub, ctx: sub.with_columns(pl.lit(None, dtype=sub.schema[col]).alias(col))


def _values(col: str, values: list) -> Callable:
    def fn(sub: pl.DataFrame, ctx: _Ctx) -> pl.DataFrame:
        pick = ctx.rng.integers(0, len(values), size=sub.height)
        return sub.with_columns(pl.Series(col, values, dtype=sub.schema[col]).gather(pick))

    return fn


def _set(**exprs) -> Callable:
    return lambda sub, ctx: sub.with_columns(**{k: (v(sub, ctx) if callable(v) else v) for k, v in exprs.items()})


def _date_lit(y: int, m: int, d: int) -> pl.Expr:
    return pl.lit(dt.date(y, m, d), dtype=pl.Date)


def _shift(col: str, lo: int, hi: int) -> Callable:
    """col + U(lo, hi) days (negative lo/hi: before)."""
    return lambda sub, ctx: (
        pl.col(col).cast(pl.Int32) + pl.lit(pl.Series(ctx.rng.integers(lo, hi + 1, size=sub.height), dtype=pl.Int32))
    ).cast(pl.Date)


def _after_delivery(lo: int, hi: int) -> Callable:
    return lambda sub, ctx: pl.lit(
        pl.Series(ctx.d + ctx.rng.integers(lo, hi + 1, size=sub.height), dtype=pl.Int32)
    ).cast(pl.Date)


def _other_zorgkas(sub: pl.DataFrame, ctx: _Ctx) -> pl.DataFrame:
    shift = {c: ctx.codes[(i + 1) % len(ctx.codes)] for i, c in enumerate(ctx.codes)}
    return sub.with_columns(pl.col("zorgkas").replace_strict(shift, default=ctx.codes[0]))


def _id_variants() -> list[_Variant]:
    return [
        _Variant("R-ID", "check_digits", _bad_insz("check_digits")),
        _Variant("R-ID", "length", _bad_insz("length")),
        _Variant("R-ID", "separators", _bad_insz("separators")),
        _Variant("R-ID", "letter", _bad_insz("letter")),
        _Variant("R-ID", "month", _bad_insz("month")),
    ]


def _dup_variants(key: str) -> list[_Variant]:
    return [
        _Variant("R-DUPLICATE", f"{key}_reused", kind="collide"),
        _Variant("R-DUPLICATE", "row_delivered_twice", lambda sub, ctx: sub, kind="append"),
    ]


_VARIANTS: dict[str, list[_Variant]] = {
    "members": [
        *_id_variants(),
        _Variant("R-NULL", "insz", _null("insz"), cap=1),
        *(
            _Variant("R-NULL", c, _null(c))
            for c in ("zorgkas", "name", "birth_date", "domicile_region", "affiliation_basis", "affiliation_start")
        ),
        _Variant("R-ENUM", "zorgkas", _values("zorgkas", ["ZK999", "ZK0", "CM"])),
        _Variant("R-ENUM", "domicile_region", _values("domicile_region", ["FL", "vl", "BRU", "NL"])),
        _Variant("R-ENUM", "affiliation_basis", _values("affiliation_basis", ["RESIDENT_WAL", "VOLUNTARY"])),
        _Variant(
            "R-DATES", "affiliation_end_before_start", _set(affiliation_end=_shift("affiliation_start", -365, -1))
        ),
        _Variant("R-DATES", "death_before_birth", _set(death_date=_shift("birth_date", -365, -1))),
        _Variant("R-DATES", "birth_before_1900", _set(birth_date=_date_lit(1899, 12, 31))),
        _Variant(
            "R-DATES",
            "birth_after_delivery",
            _set(birth_date=_after_delivery(1, 90), death_date=pl.lit(None, dtype=pl.Date)),
        ),
        _Variant("R-DATES", "death_after_delivery", _set(death_date=_after_delivery(1, 90))),
        _Variant("R-DATES", "eu_insured_before_1900", _set(eu_insured_since=_date_lit(1899, 1, 1))),
        _Variant("R-DUPLICATE", "insz_other_zorgkas", _other_zorgkas, kind="append"),
        _Variant("R-DUPLICATE", "row_delivered_twice", lambda sub, ctx: sub, kind="append"),
    ],
    "residence_periods": [
        *_id_variants(),
        *(_Variant("R-NULL", c, _null(c)) for c in ("insz", "region", "start_date")),
        _Variant("R-ENUM", "region", _values("region", ["FLANDERS", "vl", "BRU", "XX"])),
        _Variant("R-DATES", "end_before_start", _set(end_date=_shift("start_date", -365, -1))),
        _Variant("R-DATES", "start_before_1900", _set(start_date=_date_lit(1899, 12, 31))),
    ],
    "increased_allowance": [
        *_id_variants(),
        *(_Variant("R-NULL", c, _null(c)) for c in ("insz", "start_date")),
        _Variant("R-DATES", "end_before_start", _set(end_date=_shift("start_date", -365, -1))),
        _Variant("R-DATES", "start_before_1900", _set(start_date=_date_lit(1800, 1, 1))),
    ],
    "premium_payments": [
        *_id_variants(),
        _Variant("R-NULL", "insz", _null("insz"), cap=1),
        _Variant("R-NULL", "premium_year", _null("premium_year"), cap=1),
        *(_Variant("R-NULL", c, _null(c)) for c in ("amount_due", "amount_paid", "due_date")),
        _Variant(
            "R-DATES", "paid_after_delivery", _set(paid_date=_after_delivery(1, 30), amount_paid=pl.col("amount_due"))
        ),
        _Variant(
            "R-DATES", "paid_before_1900", _set(paid_date=_date_lit(1899, 5, 1), amount_paid=pl.col("amount_due"))
        ),
        _Variant("R-DATES", "due_before_1900", _set(due_date=_date_lit(1899, 4, 30))),
        _Variant("R-RANGE", "negative_amount_due", _set(amount_due=-pl.col("amount_due"))),
        _Variant(
            "R-RANGE",
            "negative_amount_paid",
            _set(amount_paid=-pl.col("amount_due"), paid_date=_shift("due_date", -30, 0)),
        ),
        _Variant("R-DUPLICATE", "row_delivered_twice", lambda sub, ctx: sub, kind="append"),
        _Variant(
            "R-DUPLICATE",
            "second_payment_row",
            lambda sub, ctx: sub.with_columns(amount_paid=(pl.col("amount_due") / 2).round(2)),
            kind="append",
        ),
    ],
    "belrai_screeners": [
        *_id_variants(),
        *(
            _Variant("R-NULL", c, _null(c))
            for c in (
                "insz",
                "assessment_date",
                "service_kind",
                "service_recognised",
                "total_score",
                "adl_score",
                "iadl_score",
            )
        ),
        _Variant("R-ENUM", "service_kind", _values("service_kind", ["THUISZORG", "gezinszorg", "WZC"])),
        _Variant(
            "R-DATES",
            "assessment_after_delivery",
            _set(assessment_date=_after_delivery(1, 60), valid_until=pl.lit(None, dtype=pl.Date)),
        ),
        _Variant("R-DATES", "valid_until_before_assessment", _set(valid_until=_shift("assessment_date", -200, -1))),
        _Variant("R-DATES", "assessment_before_1900", _set(assessment_date=_date_lit(1899, 6, 30))),
        _Variant("R-RANGE", "negative_total_score", _set(total_score=pl.lit(-1.0))),
        _Variant("R-RANGE", "negative_adl_score", _set(adl_score=pl.lit(-0.5))),
        _Variant("R-RANGE", "negative_iadl_score", _set(iadl_score=pl.lit(-1.5))),
        *_dup_variants("assessment_id"),
    ],
    "medsoc_scales": [
        *_id_variants(),
        *(_Variant("R-NULL", c, _null(c)) for c in ("insz", "scale_kind", "decision_date", "valid_from")),
        _Variant("R-ENUM", "scale_kind", _values("scale_kind", ["BEL", "ZZB", "it"])),
        _Variant("R-DATES", "decision_after_delivery", _set(decision_date=_after_delivery(1, 60))),
        _Variant("R-DATES", "valid_until_before_valid_from", _set(valid_until=_shift("valid_from", -200, -1))),
        _Variant("R-DATES", "valid_from_before_1900", _set(valid_from=_date_lit(1899, 1, 1))),
        _Variant(
            "R-RANGE",
            "negative_score",
            _set(
                scale_kind=pl.lit("IT"),
                score=pl.lit(-2.0),
                pillar_1=pl.lit(None, pl.Float64),
                pillar_2=pl.lit(None, pl.Float64),
                pillar_3=pl.lit(None, pl.Float64),
            ),
        ),
        _Variant(
            "R-RANGE",
            "negative_pillar",
            _set(
                scale_kind=pl.lit("ZTK"),
                score=pl.lit(None, pl.Float64),
                pillar_1=pl.lit(-1.0),
                pillar_2=pl.lit(6.0),
                pillar_3=pl.lit(6.0),
            ),
        ),
        _Variant(
            "R-REQUIRED",
            "score_missing",
            lambda sub, ctx: _values("scale_kind", ["IT", "THAB", "ZBO"])(
                sub.with_columns(
                    score=pl.lit(None, pl.Float64),
                    pillar_1=pl.lit(None, pl.Float64),
                    pillar_2=pl.lit(None, pl.Float64),
                    pillar_3=pl.lit(None, pl.Float64),
                ),
                ctx,
            ),
        ),
        _Variant(
            "R-REQUIRED",
            "pillar_missing",
            _set(
                scale_kind=pl.lit("ZTK"),
                score=pl.lit(None, pl.Float64),
                pillar_1=pl.lit(7.0),
                pillar_2=pl.lit(None, pl.Float64),
                pillar_3=pl.lit(5.0),
            ),
        ),
        *_dup_variants("decision_id"),
    ],
    "facility_stays": [
        *_id_variants(),
        *(
            _Variant("R-NULL", c, _null(c))
            for c in (
                "insz",
                "facility_id",
                "facility_kind",
                "facility_region",
                "recognised_by_flanders",
                "admission_date",
            )
        ),
        _Variant("R-ENUM", "facility_kind", _values("facility_kind", ["HOSPITAL", "wzc", "ROB"])),
        _Variant("R-ENUM", "facility_region", _values("facility_region", ["NL", "vl", "BRU"])),
        _Variant("R-ENUM", "special_category", _values("special_category", ["PALLIATIVE", "COMA"])),
        _Variant(
            "R-DATES",
            "admission_after_delivery",
            _set(admission_date=_after_delivery(1, 60), discharge_date=pl.lit(None, dtype=pl.Date)),
        ),
        _Variant("R-DATES", "discharge_before_admission", _set(discharge_date=_shift("admission_date", -300, -1))),
        _Variant("R-DATES", "admission_before_1900", _set(admission_date=_date_lit(1899, 11, 1))),
        *_dup_variants("stay_id"),
    ],
    "vaph_support": [
        *_id_variants(),
        *(_Variant("R-NULL", c, _null(c)) for c in ("insz", "support_kind", "start_date")),
        _Variant("R-ENUM", "support_kind", _values("support_kind", ["PVB2", "GROUP_HOME", "pvb"])),
        _Variant("R-DATES", "end_before_start", _set(end_date=_shift("start_date", -300, -1))),
        _Variant("R-DATES", "start_before_1900", _set(start_date=_date_lit(1899, 9, 1))),
        _Variant(
            "R-RANGE",
            "negative_absence_days",
            _set(
                support_kind=pl.lit("MFC_FULLTIME"),
                school_year=pl.col("start_date").dt.year().cast(pl.Int64),
                absence_days=pl.lit(-3, pl.Int64),
            ),
        ),
        _Variant(
            "R-RANGE",
            "absence_days_over_366",
            _set(
                support_kind=pl.lit("MFC_FULLTIME"),
                school_year=pl.col("start_date").dt.year().cast(pl.Int64),
                absence_days=pl.lit(400, pl.Int64),
            ),
        ),
        _Variant(
            "R-REQUIRED",
            "school_year_without_absence",
            _set(
                support_kind=pl.lit("MFC_FULLTIME"),
                school_year=pl.col("start_date").dt.year().cast(pl.Int64),
                absence_days=pl.lit(None, pl.Int64),
            ),
        ),
        _Variant(
            "R-REQUIRED",
            "absence_without_school_year",
            _set(
                support_kind=pl.lit("MINOR_RESIDENTIAL_OUTSIDE_VL"),
                school_year=pl.lit(None, pl.Int64),
                absence_days=pl.lit(45, pl.Int64),
            ),
        ),
        *_dup_variants("record_id"),
    ],
    # case_decisions: synthdata/cases.py CASE_VARIANTS (`_variants`)
}


_SLOTS = {"modify": 1, "collide": 2, "append": 1}


def _plan(variants: list[_Variant], height: int, rng: np.random.Generator) -> list[int]:
    """Rows per variant: per rule max(MIN_PER_RULE, RATE_PER_RULE * height), spread over the
    rule's variants from a random first one (so deliveries differ), caps respected."""
    rules = list(dict.fromkeys(v.rule for v in variants))
    offsets = {r: int(rng.integers(0, sum(v.rule == r for v in variants))) for r in rules}
    per_rule = max(MIN_PER_RULE, round(RATE_PER_RULE * height))
    while True:
        counts = [0] * len(variants)
        for rule in rules:
            ids = [i for i, v in enumerate(variants) if v.rule == rule]
            ids = ids[offsets[rule] :] + ids[: offsets[rule]]
            for j, i in enumerate(ids):
                counts[i] = per_rule // len(ids) + (j < per_rule % len(ids))
            overflow = 0
            for i in ids:
                cap = variants[i].cap
                if cap is not None and counts[i] > cap:
                    overflow += counts[i] - cap
                    counts[i] = cap
            free = [i for i in ids if variants[i].cap is None]
            for j in range(len(free)):
                counts[free[j]] += overflow // len(free) + (j < overflow % len(free))
        need = sum(c * _SLOTS[v.kind] for v, c in zip(variants, counts, strict=True))
        if need <= height // 2 or per_rule == 1:
            return counts if need <= height else [0] * len(variants)
        per_rule -= 1


def _variants(feed: str) -> list[_Variant]:
    if feed == "case_decisions":
        from synthdata.cases import CASE_VARIANTS  # not on top: synthdata/cases.py builds on this module

        return CASE_VARIANTS
    return _VARIANTS[feed]


def _inject(feed: str, frame: pl.DataFrame, ctx: _Ctx) -> pl.DataFrame:
    """Break a few rows per rule (in place, or appended copies for duplicates) and label them.

    A frame with a `_referenced` column (case_decisions: a decision refers to the row) has none of those rows
    broken: breaking one would break the rows that refer to it as well (R-REFERENCE)."""
    variants = _variants(feed)
    free = np.arange(frame.height)
    if "_referenced" in frame.columns:
        free = np.flatnonzero(~frame["_referenced"].to_numpy())
    counts = _plan(variants, free.size, ctx.rng)
    slots = [c * _SLOTS[v.kind] for v, c in zip(variants, counts, strict=True)]
    rows = ctx.rng.choice(free, size=sum(slots), replace=False) if sum(slots) else np.zeros(0, np.int64)
    key = (FEEDS[feed].key or ("insz",))[0]
    frame = frame.with_columns(_bad=pl.lit(None, dtype=pl.String))
    changed, appended = [], []
    pos = 0
    for v, c, n in zip(variants, counts, slots, strict=True):
        idx = rows[pos : pos + n]
        pos += n
        if not c:
            continue
        label = f"{v.rule}:{v.name}"
        sub = frame[idx]
        if v.kind == "modify":
            changed.append((idx, v.fn(sub, ctx).with_columns(_bad=pl.lit(label))))
        elif v.kind == "collide":
            a, b = sub.head(c), sub.tail(c)
            changed.append((idx[:c], a.with_columns(b[key]).with_columns(_bad=pl.lit(label))))
            changed.append((idx[c:], b.with_columns(_bad=pl.lit(label))))
        else:
            changed.append((idx, sub.with_columns(_bad=pl.lit(label))))
            appended.append(v.fn(sub, ctx).with_columns(_bad=pl.lit(label)))
    if changed:
        idx = np.concatenate([i for i, _ in changed])
        new = pl.concat([f for _, f in changed])
        # only the columns whose values change are copied (scatter copies its column)
        touched = [c for c in frame.columns if not new[c].equals(frame[c].gather(idx), check_names=False)]
        frame = frame.with_columns([frame[c].scatter(idx, new[c]) for c in touched])
    if appended:
        frame = pl.concat([frame, *appended])
    return frame


# ---------------------------------------------------------------------------------------------
# public API


def _finish(feed: str, frame: pl.DataFrame, labels: bool) -> pl.DataFrame:
    cols = [pl.col(c).cast(t) for c, t in FEEDS[feed].columns.items() if c in frame.columns]
    return frame.select(cols + ([pl.col("_bad")] if labels else []))


def generate(
    n_members: int,
    seed: int,
    as_of: dt.date,
    zorgkas_codes: list[str],
    *,
    labels: bool = False,
    feeds: tuple[str, ...] | None = None,
) -> Iterator[tuple[str, dt.date, pl.DataFrame]]:
    """`iter_landing`, optionally with a `_bad` label column and for some feeds only."""
    if n_members < 1:
        raise ValueError("n_members must be at least 1")
    if not zorgkas_codes:
        raise ValueError("zorgkas_codes is empty")
    deliveries = delivery_dates(as_of)
    pop = _population(n_members, seed, as_of, list(zorgkas_codes))
    for number, feed in enumerate(FEED_NAMES, start=1):
        if feeds is not None and feed not in feeds:
            continue
        snapshot = _BUILDERS[feed](pop, np.random.default_rng([seed, number]))
        for k, d in enumerate(deliveries, start=1):
            ctx = _Ctx(np.random.default_rng([seed, number, k]), _day(d), list(zorgkas_codes))
            frame = _inject(feed, snapshot(_day(d)), ctx)
            yield feed, d, _finish(feed, frame, labels)
        del snapshot
        if feed == "members":  # only the members feed uses names and IBANs
            pop.name = pop.iban = None


def iter_landing(
    n_members: int, seed: int, as_of: dt.date, zorgkas_codes: list[str]
) -> Iterator[tuple[str, dt.date, pl.DataFrame]]:
    """Yield (feed, delivery_date, frame) for the nine feeds, two deliveries each.

    Deliveries: `as_of` minus one month (same day of the month, clamped) and `as_of`.
    Frames have exactly the columns, dtypes and column order of `schemas.feeds.FEEDS`, members'
    optional columns (language, street, postal_code, city, country) included.
    Deterministic: the same arguments give identical frames. Feeds come one at a time
    (both deliveries of a feed, then the next feed), so memory holds one feed at a time.
    """
    return generate(n_members, seed, as_of, zorgkas_codes)

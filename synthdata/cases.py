"""Synthetic case_decisions feed (docs/spec/feeds.md; docs/spec/rules.md §10): applications, decisions by hand
and appeals, drawn like the other feeds of synthdata/synthetic.py (a latent table of events, a snapshot per
delivery: a row is delivered when its received_date or decided_date is on or before the delivery date, so the
feed only grows).

Who applies (budget ZZB unless said):
- the W-APPLY population: 60% of the stays in a WZC or PVT that the engine sends to apply (a special category,
  W-APPLY-SPECIAL; outside Flanders or not recognised, W-APPLY-FACILITY), received 3-150 days after admission;
  they are the stays of the facility_stays feed itself (`facility_rng`: the same seed, the same stays);
- persons who apply by hand without such a stay (more often the old: 0.2% of minors to 3% of those over 80), and
  for the BOB a few under 65; their applications are refused more often.
Applications run over the last six years; those received more than five years before the newest delivery predate
the feed: their GRANT or REFUSAL has a null `refers_to` and the APPLICATION row is not delivered.

Decisions: a GRANT (80% of the W-APPLY population, 45% of the others, 55% for the BOB) or a REFUSAL 20-120 days
after receipt (85% within the 90-day term, 15% in 91-120 days); 0.3% are never decided. So on a delivery date a
few applications are open and some of those are past their term (W-APPLICATION-OPEN, W-APPLICATION-OVERDUE). A
GRANT starts with the month of receipt or the next one; 25% are limited to 6-36 months. 12% of the open-ended
grants get an END 2-40 months after they start (decided up to 45 days before that month).

Appeals: 25% of the REFUSALs and of the ENDs are appealed (`refers_to` = the record_id of the zorgkas decision), and
so are a share of the engine's stop and recovery letters: 0.2% of those over 65 (a stop letter, `DEC`) and 1% of the
members who died in the last two years (their heirs, a recovery letter, `REC`). The generator cannot know the ids
the engine gives its letters, so `refers_to` is a plausible letter id in the engine's format
(pipelines/emit/letters/content.py `letter_ids`: "<YYYYMMDD>-<zorgkas>-<DEC|REC>-<n>", the 26th of a month for a
recovery); R-REFERENCE does not check an APPEAL's reference. An appeal is received 7-85 days after what it
contests and decided 30-200 days later: 35% APPEAL_GRANT (the months refused or ended, or from the month of the
letter), 65% APPEAL_REFUSAL; the recent ones are still open (W-APPEAL-OPEN, M-APPEAL-SUSPENDS).

record_id "CD<9 digits>" in the order of the row's date. Deliberate bad rows are added by synthetic.py `_inject`
(the variants of `CASE_VARIANTS`), never on a row that a decision refers to, so no good row breaks R-REFERENCE.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from schemas.feeds import BUDGETS, CASE_KINDS, CASE_TARGETS
from synthdata.synthetic import (
    NA,
    PVT,
    VL,
    WZC,
    YEAR,
    Snapshot,
    _after_delivery,
    _between,
    _date_lit,
    _dates,
    _dup_variants,
    _facility_latent,
    _id_variants,
    _ids,
    _insz_str,
    _null,
    _order_ids,
    _pick,
    _Population,
    _set,
    _split,
    _strs,
    _values,
    _Variant,
    _ymd,
    facility_rng,
)

APPLICATION, GRANT, END, REFUSAL, APPEAL, APPEAL_GRANT, APPEAL_REFUSAL = (
    CASE_KINDS.index(k) for k in ("APPLICATION", "GRANT", "END", "REFUSAL", "APPEAL", "APPEAL_GRANT", "APPEAL_REFUSAL")
)
OUTCOMES = [CASE_KINDS.index(k) for k in CASE_TARGETS]  # the rows whose refers_to R-REFERENCE checks
ZZB, BOB = BUDGETS.index("ZZB"), BUDGETS.index("BOB")
LETTER_KINDS = (None, "DEC", "REC")
_COLUMNS = {
    "p": np.int64,
    "kind": np.int8,
    "budget": np.int8,
    "received": np.int32,
    "decided": np.int32,
    "first": np.int32,
    "last": np.int32,
    "parent": np.int64,  # the row a decision refers to (-1: none or not in the feed)
    "letter_date": np.int32,  # an appeal against a letter: its date and kind (1 DEC, 2 REC)
    "letter_kind": np.int8,
}
# applications by hand without a W-APPLY stay: share by age (below 18, 65, 80, older) and for the BOB
P_APPLY_BY_AGE = (0.004, 0.01, 0.028, 0.066)
P_APPLY_BOB = 0.003
P_DECISION_LOST = 0.003


class _Table:
    """Case rows added in blocks (numpy columns); `add` gives the rows' global indices, for `parent`."""

    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []
        self.n = 0

    def add(self, p: np.ndarray, kind: int, budget, **cols) -> np.ndarray:
        k = p.size
        values = {"p": p, "kind": kind, "budget": budget, "parent": -1, "letter_kind": 0} | cols
        part = {c: np.broadcast_to(np.asarray(values.get(c, NA)), (k,)).astype(t) for c, t in _COLUMNS.items()}
        self.parts.append(part)
        self.n += k
        return np.arange(self.n - k, self.n)

    def column(self, name: str) -> np.ndarray:
        return np.concatenate([part[name] for part in self.parts]) if self.parts else np.zeros(0, _COLUMNS[name])


def _month(days, k=0) -> np.ndarray:
    """The first day of the month of `days`, `k` months later."""
    y, m, _ = _split(days)
    return _ymd(y, m + np.asarray(k, np.int64), 1)


def _w_apply_stays(pop: _Population, share: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Applications of `share` of the stays the engine sends to apply (W-APPLY-SPECIAL, W-APPLY-FACILITY):
    (person, received day), received 3-150 days after admission, within the person's life."""
    s = _facility_latent(pop, facility_rng(pop))
    home = (s["kind"] == WZC) | (s["kind"] == PVT)
    must_apply = home & ((s["special"] > 0) | (s["region"] != VL) | ~s["recognised"])
    chosen = np.flatnonzero(must_apply & (rng.random(must_apply.size) < share))
    p = s["p"][chosen].astype(np.int64)
    received = s["admission"][chosen].astype(np.int64) + rng.integers(3, 151, size=p.size)
    ok = received <= pop.hi[p]
    return p[ok], received[ok].astype(np.int32)


def _applicants(pop: _Population, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every application (person, budget, received day, probability of a GRANT), over the last six years."""
    p1, r1 = _w_apply_stays(pop, 0.6, rng)
    age = pop.age
    everyone = np.ones(pop.size, bool)
    p2 = _pick(rng, np.select([age < 18, age < 65, age < 80], P_APPLY_BY_AGE[:3], P_APPLY_BY_AGE[3]), everyone)
    p3 = _pick(rng, np.where(age < 65, P_APPLY_BOB, 0.0), age < 65)
    p23 = np.concatenate([p2, p3])
    lo = np.maximum(pop.lo[p23].astype(np.int64), pop.d2 - 6 * YEAR)
    r23 = _between(rng, lo, pop.hi[p23])
    ok = lo <= pop.hi[p23]
    budget23 = np.concatenate([np.full(p2.size, ZZB), np.full(p3.size, BOB)])[ok]
    p = np.concatenate([p1, p23[ok]])
    budget = np.concatenate([np.full(p1.size, ZZB), budget23])
    grant = np.concatenate([np.full(p1.size, 0.8), np.where(budget23 == BOB, 0.55, 0.45)])
    return {"p": p, "budget": budget, "received": np.concatenate([r1, r23[ok]]), "p_grant": grant}


def _applications(pop: _Population, rng: np.random.Generator, t: _Table) -> dict[str, np.ndarray]:
    """APPLICATION rows and their GRANT or REFUSAL; gives the refusals and the open-ended grants."""
    a = _applicants(pop, rng)
    p, budget, received = a["p"], a["budget"], a["received"].astype(np.int64)
    n = p.size
    in_feed = received > pop.d2 - 5 * YEAR  # older applications predate the feed
    idx = np.full(n, -1, np.int64)
    idx[in_feed] = t.add(p[in_feed], APPLICATION, budget[in_feed], received=received[in_feed])
    delay = np.where(rng.random(n) < 0.85, rng.integers(20, 91, size=n), rng.integers(91, 121, size=n))
    decided = received + delay
    lost = rng.random(n) < P_DECISION_LOST
    granted = ~lost & (rng.random(n) < a["p_grant"])
    refused = ~lost & ~granted
    first = _month(received, rng.integers(0, 2, size=n))
    limited = rng.random(n) < 0.25
    last = np.where(limited, _month(first, rng.integers(6, 37, size=n)), NA)
    g = np.flatnonzero(granted)
    t.add(p[g], GRANT, budget[g], decided=decided[g], first=first[g], last=last[g], parent=idx[g])
    r = np.flatnonzero(refused)
    refusal = t.add(p[r], REFUSAL, budget[r], decided=decided[r], parent=idx[r])
    o = g[~limited[g]]
    grants = {"p": p[o], "budget": budget[o], "decided": decided[o], "first": first[o]}
    return {"refusals": {"p": p[r], "budget": budget[r], "decided": decided[r], "first": first[r], "idx": refusal},
            "grants": grants}  # fmt: skip


def _ends(rng: np.random.Generator, t: _Table, grants: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """END rows for 12% of the open-ended grants, 2-40 months after they start; gives them (with their index)."""
    chosen = np.flatnonzero(rng.random(grants["p"].size) < 0.12)
    p, budget = grants["p"][chosen], grants["budget"][chosen]
    first = _month(grants["first"][chosen], rng.integers(2, 41, size=chosen.size)).astype(np.int64)
    decided = np.maximum(first - rng.integers(0, 46, size=chosen.size), grants["decided"][chosen] + 1)
    idx = t.add(p, END, budget, decided=decided, first=first)
    return {"p": p, "budget": budget, "decided": decided, "first": first, "idx": idx}


def _letter_appeals(pop: _Population, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Appeals against the engine's letters: stops (DEC) of those over 65, recoveries (REC) of the dead (their
    heirs); the letter within the last two years (a recovery on the 26th of the month after the death or later)."""
    old = _pick(rng, np.where(pop.age >= 65, 0.002, 0.0), pop.age >= 65)
    recent_death = (pop.death != NA) & (pop.death >= pop.d2 - 2 * YEAR)
    dead = _pick(rng, np.where(recent_death, 0.01, 0.0), recent_death, 1)
    stop_day = _between(rng, np.maximum(pop.lo[old].astype(np.int64), pop.d2 - 2 * YEAR), pop.hi[old] - 7)
    y, m, _ = _split(_month(pop.death[dead], 1 + rng.integers(0, 3, size=dead.size)))
    recovery_day = _ymd(y, m, 26)
    p = np.concatenate([old, dead]).astype(np.int64)
    letter = np.concatenate([stop_day, recovery_day]).astype(np.int64)
    kind = np.concatenate([np.full(old.size, 1), np.full(dead.size, 2)])
    ok = letter <= pop.d2 - 7
    n = int(ok.sum())
    budget = np.where(rng.random(n) < 0.1, BOB, ZZB)
    grant_first = np.where(kind[ok] == 1, _month(letter[ok]), _month(letter[ok], -2))
    return {"p": p[ok], "budget": budget, "date": letter[ok], "letter_kind": kind[ok], "first": grant_first}


def _appeals(pop: _Population, rng: np.random.Generator, t: _Table, decisions: dict) -> None:
    """APPEAL rows against 25% of the REFUSALs and ENDs and against letters, and the agency's outcomes."""
    parts = []
    for contested in (decisions["refusals"], decisions["ends"]):
        chosen = np.flatnonzero(rng.random(contested["p"].size) < 0.25)
        parts.append({k: v[chosen] for k, v in contested.items()} | {"letter_kind": np.zeros(chosen.size, int)})
    letters = _letter_appeals(pop, rng)
    parts.append(letters | {"decided": letters["date"], "idx": np.full(letters["p"].size, -1)})
    c = {k: np.concatenate([part[k] for part in parts]) for k in ("p", "budget", "decided", "first", "idx")}
    c["letter_kind"] = np.concatenate([part["letter_kind"] for part in parts])
    n = c["p"].size
    received = c["decided"].astype(np.int64) + rng.integers(7, 86, size=n)
    letter_date = np.where(c["letter_kind"] > 0, c["decided"], NA)
    appeal = t.add(
        c["p"], APPEAL, c["budget"], received=received, parent=c["idx"], letter_date=letter_date,
        letter_kind=c["letter_kind"],
    )  # fmt: skip
    decided = received + rng.integers(30, 201, size=n)
    granted = rng.random(n) < 0.35
    last = np.where(c["letter_kind"] == 2, _month(c["first"], 1), NA)
    g, r = np.flatnonzero(granted), np.flatnonzero(~granted)
    t.add(c["p"][g], APPEAL_GRANT, c["budget"][g], decided=decided[g], first=c["first"][g], last=last[g],
          parent=appeal[g])  # fmt: skip
    t.add(c["p"][r], APPEAL_REFUSAL, c["budget"][r], decided=decided[r], parent=appeal[r])


def _refers_to(pop: _Population, t: dict[str, np.ndarray], ids: np.ndarray, keep: np.ndarray) -> pl.Series:
    """The record_id of the row referred to, or the letter id an appeal contests (null: neither)."""
    parent = t["parent"][keep]
    record = _ids("CD", np.where(parent >= 0, ids[np.maximum(parent, 0)], 0))
    letter_date = t["letter_date"][keep]
    p = t["p"][keep]
    zk = np.where(pop.zk_change[p] <= letter_date, pop.zk_new[p], pop.zk_old[p])
    number = (pop.insz[p] * 7919 + letter_date) % 40_000 + 1  # a plausible place among the night's letters
    letter = pl.format(
        "{}-{}-{}-{}",
        pl.lit(_dates(letter_date)).dt.strftime("%Y%m%d"),
        pl.lit(_strs(pop.codes, zk)),
        pl.lit(_strs(LETTER_KINDS, t["letter_kind"][keep])),
        pl.lit(pl.Series(number)).cast(pl.String).str.zfill(7),
    )
    has_letter = pl.lit(pl.Series(t["letter_kind"][keep] > 0))
    return pl.select(
        pl.when(pl.lit(pl.Series(parent >= 0))).then(pl.lit(record)).when(has_letter).then(letter)
    ).to_series()


def case_decisions(pop: _Population, rng: np.random.Generator) -> Snapshot:
    """The case_decisions feed: snapshot(d) gives the rows of the delivery of day d (and `_referenced`: a decision of
    the delivery refers to the row; synthetic.py `_inject` breaks no such row)."""
    table = _Table()
    decisions = _applications(pop, rng, table)
    decisions["ends"] = _ends(rng, table, decisions.pop("grants"))
    _appeals(pop, rng, table, decisions)
    t = {c: table.column(c) for c in _COLUMNS}
    event = np.where(t["received"] != NA, t["received"], t["decided"])
    ids = _order_ids(event, t["p"])
    vf = pop.visible_from[t["p"]]
    checked = np.isin(t["kind"], OUTCOMES)

    def snapshot(d: int) -> pl.DataFrame:
        keep = (vf <= d) & (event <= d)
        referenced = np.zeros(t["p"].size, bool)
        referenced[t["parent"][keep & checked & (t["parent"] >= 0)]] = True
        return pl.DataFrame(
            {
                "record_id": _ids("CD", ids[keep]),
                "insz": _insz_str(pop.insz[t["p"][keep]]),
                "budget": _strs(BUDGETS, t["budget"][keep]),
                "kind": _strs(CASE_KINDS, t["kind"][keep]),
                "received_date": _dates(t["received"][keep]),
                "decided_date": _dates(t["decided"][keep]),
                "refers_to": _refers_to(pop, t, ids, keep),
                "first_month": _dates(t["first"][keep]),
                "last_month": _dates(t["last"][keep]),
                "_referenced": pl.Series(referenced[keep]),
            }
        )

    return snapshot


# ---------------------------------------------------------------------------------------------
# deliberate bad rows (synthetic.py `_inject`): each breaks one row rule of docs/spec/feeds.md; none is a row that
# a decision refers to (`_referenced`), so the other rows stay good


def _event_month() -> pl.Expr:
    """The first day of the row's first month, or of the month of its date."""
    return pl.coalesce("first_month", "received_date", "decided_date").dt.truncate("1mo")


def _days_after(base: pl.Expr, lo: int, hi: int) -> Callable:
    return lambda sub, ctx: (
        base.cast(pl.Int32) + pl.lit(pl.Series(ctx.rng.integers(lo, hi + 1, size=sub.height), dtype=pl.Int32))
    ).cast(pl.Date)


_NULL_DATE = pl.lit(None, dtype=pl.Date)
_NULL_STR = pl.lit(None, dtype=pl.String)
_ANY_DATE = pl.coalesce("received_date", "decided_date")


def _as(kind: str, **changes) -> Callable:
    """The row as a `kind` row (its date kept as received_date or decided_date), then `changes`."""
    received = kind in ("APPLICATION", "APPEAL")
    base = {
        "kind": pl.lit(kind),
        "received_date": _ANY_DATE if received else _NULL_DATE,
        "decided_date": _NULL_DATE if received else _ANY_DATE,
        "refers_to": _NULL_STR,
        "first_month": _event_month() if kind in ("GRANT", "END", "APPEAL_GRANT") else _NULL_DATE,
        "last_month": _NULL_DATE,
    }
    return _set(**(base | changes))


CASE_VARIANTS: list[_Variant] = [
    *_id_variants(),
    _Variant("R-NULL", "record_id", _null("record_id"), cap=1),
    *(_Variant("R-NULL", c, _null(c)) for c in ("insz", "budget", "kind")),
    _Variant("R-ENUM", "budget", _values("budget", ["ZZB ", "zzb", "BOV", "VAPH"])),
    _Variant("R-ENUM", "kind", _values("kind", ["DECISION", "grant", "WITHDRAWAL", "APPEAL_PARTIAL"])),
    _Variant("R-DATES", "first_month_not_first_day", _set(first_month=_days_after(_event_month(), 1, 27))),
    _Variant(
        "R-DATES",
        "last_month_not_first_day",
        _set(first_month=_event_month(), last_month=_days_after(_event_month().dt.offset_by("2mo"), 1, 27)),
    ),
    _Variant(
        "R-DATES",
        "last_month_before_first",
        _set(first_month=_event_month(), last_month=_event_month().dt.offset_by("-3mo")),
    ),
    _Variant("R-DATES", "received_after_delivery", _set(received_date=_after_delivery(1, 60))),
    _Variant("R-DATES", "decided_after_delivery", _set(decided_date=_after_delivery(1, 60))),
    _Variant("R-DATES", "received_before_1900", _set(received_date=_date_lit(1899, 12, 1))),
    _Variant("R-REQUIRED", "application_without_received_date", _as("APPLICATION", received_date=_NULL_DATE)),
    _Variant("R-REQUIRED", "refusal_without_decided_date", _as("REFUSAL", decided_date=_NULL_DATE)),
    _Variant("R-REQUIRED", "grant_without_first_month", _as("GRANT", first_month=_NULL_DATE)),
    _Variant("R-REQUIRED", "appeal_without_refers_to", _as("APPEAL")),
    _Variant(
        "R-REFERENCE",
        "grant_names_nothing",
        _as("GRANT", refers_to=pl.format("CD{}", (999_999_999 - pl.int_range(pl.len())).cast(pl.String))),
    ),
    _Variant("R-REFERENCE", "appeal_refusal_names_itself", _as("APPEAL_REFUSAL", refers_to=pl.col("record_id"))),
    *_dup_variants("record_id"),
]

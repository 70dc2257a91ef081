"""The care premium runs: yearly invoices (rules.md §7, P-*) and fine candidates (F-FINE), per zorgkas.

    <outbox>/invoices/<Y>/<D>/<zorgkas>/invoices.parquet, invoices.csv, manifest.json
    <outbox>/fines/<F>/<zorgkas>/fines.parquet, fines.csv, manifest.json
    and per run _report.json and _manifest.json (written last), as the nightly run.

The ledgers in the state (created here, flows/state/store.py `register`):
- premium_invoices: one row per (insz, premium_year) ever invoiced, with its zorgkas, invoice_id,
  reference base, amount, due and invoice dates and the run that issued it. An invoice run of
  (Y, D) publishes the invoices of Y it issued on D in an earlier attempt (read back from the
  ledger, never recomputed) and issues the members liable on D that no run has invoiced yet;
  nothing is ever reissued. Reference bases follow the zorgkas's highest base in the ledger
  (pipelines/premium/invoices.py `reference_bases`): unique within a zorgkas across years, and stable.
- premium_fines: one row per (insz, fine_year): a rerun of year F adds no second fine.
Each run is a row of the state's `runs` table, as the nightly runs are (flows/publication/protocol.py).

Crash safety: the new ledger rows are committed only once every file of the run is complete in
staging and publishing would go ahead (not identical, not refused), then the folder is renamed.
A crash between the commit and the rename leaves the rows in the ledger and the sealed staging
folder: the next run of any kind publishes it first (flows/publication/protocol.py `complete_unpublished`). Without
its staging folder, the next run refuses until the run is redone: the rerun of the same run reads
the rows back and builds byte-identical files. So no committed invoice goes out unpublished.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
import pandera.errors as pa_errors
import polars as pl
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.ingest import Ingested
from flows.io.outbox import FileLog, zorgkas_slices
from flows.nightly import feed_manifest, ingest_feed_task, releasing_frames_on_error
from flows.progress import Steps
from flows.publication.folder import MANIFEST, Published, RunFolder, canonical_json
from flows.publication.protocol import commit_and_publish, complete_unpublished
from flows.reference import Reference, load_reference
from flows.runtime import code_version
from flows.state.store import hold_state, open_state, register, transaction
from pipelines.ingest.insz import insz_number
from pipelines.params import Params
from pipelines.premium.invoices import (
    FINE_COLUMNS,
    LEDGER_INVOICE_COLUMNS,
    REFERENCE_BASE_LIMIT,
    Amounts,
    deceased_before,
    fine_candidates,
    fine_reference_date,
    p_liable,
    premium_due,
    published_invoices,
    quarantined_persons,
    reference_bases,
)
from schemas.outputs import Fines, Invoices

INVOICE_FEEDS = ("members", "residence_periods", "increased_allowance")
FINE_FEEDS = ("members", "premium_payments", "increased_allowance")

LEDGER_SCHEMA = """
CREATE TABLE IF NOT EXISTS premium_invoices (
    insz VARCHAR NOT NULL,
    premium_year INTEGER NOT NULL,
    zorgkas VARCHAR NOT NULL,
    invoice_id VARCHAR NOT NULL,
    reference_base BIGINT NOT NULL,     -- P-REFERENCE: one sequence per zorgkas, across years
    amount DECIMAL(12, 2) NOT NULL,
    reduced BOOLEAN NOT NULL,
    grounds VARCHAR[] NOT NULL,
    due_date DATE NOT NULL,
    invoice_date DATE NOT NULL,         -- the run date D of the run that issued it
    run_key VARCHAR NOT NULL            -- the folder that first published it, e.g. 2026/2026-01-02
    -- keys (insz, premium_year) and (zorgkas, reference_base): checked before the commit
    -- (`check_new_invoices`), not declared: DuckDB's index upkeep costs ~2 s per million rows inserted
);
CREATE TABLE IF NOT EXISTS premium_fines (
    insz VARCHAR NOT NULL,
    fine_year INTEGER NOT NULL,
    zorgkas VARCHAR NOT NULL,
    amount DECIMAL(12, 2) NOT NULL,
    years_in_default INTEGER[] NOT NULL,
    run_key VARCHAR NOT NULL,           -- e.g. 2026, 2026.v2
    PRIMARY KEY (insz, fine_year)
);
"""


@register
def ensure_premium_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(LEDGER_SCHEMA)
    retire_premium_runs(con)


def retire_premium_runs(con: duckdb.DuckDBPyConnection) -> None:
    """A state from before the one `runs.published` flag: premium_runs' dates and flags move to `runs`."""
    if con.sql("SELECT count(*) FROM information_schema.tables WHERE table_name = 'premium_runs'").fetchall()[0][0]:
        with transaction(con):
            con.execute(
                "UPDATE runs SET run_date = p.run_date, published = p.published FROM premium_runs p "
                "WHERE runs.kind = p.kind AND runs.run_key = p.run_key"
            )
            con.execute("DROP TABLE premium_runs")


class PremiumRunError(Exception):
    """A premium run cannot go ahead (its output fails its schema, a reference base would be reused)."""


# --- reading the feeds --------------------------------------------------------------------------------


def ingest_feeds(
    landing: Path,
    as_of: dt.date,
    reference: Reference,
    feeds: tuple[str, ...],
    accept_shrink: set[str] = frozenset(),
    steps: Steps | None = None,
    ingest_one=None,
) -> Ingested:
    """The feeds a premium run reads (members first), read exactly as the nightly run reads them."""
    from flows.ingest import ingest, ingest_feed

    return ingest(landing, as_of, reference, accept_shrink, steps, ingest_one=ingest_one or ingest_feed, feeds=feeds)


def validated(model, frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` checked with its pandera model; a failure names the checks and columns, never a value
    (the values could be an insz: logs carry counts and codes only)."""
    try:
        return model.validate(frame, lazy=True)
    except pa_errors.SchemaErrors as exc:
        cases = exc.failure_cases.group_by("column", "check").len().sort("column", "check", nulls_last=True)
        broken = ", ".join(f"{column or '-'}: {check} ({n} rows)" for column, check, n in cases.iter_rows())
        raise PremiumRunError(f"{model.__name__} output fails its schema: {broken}") from None


def release_feeds(ingested: Ingested) -> None:
    """Free the feeds' rows once planned: the run keeps only counts, deliveries and quarantines."""
    for staged in ingested.feeds.values():
        staged.valid = staged.valid.clear()


def held_persons(ingested: Ingested) -> pl.DataFrame:
    """The persons with a quarantined row in a feed of this run: not invoiced or fined this run."""
    return quarantined_persons([staged.quarantine for staged in ingested.feeds.values()]).collect()


# --- the ledgers --------------------------------------------------------------------------------------


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list, schema: dict) -> pl.DataFrame:
    """A query's result with exactly `schema` (an empty result keeps its types)."""
    result = pl.from_arrow(con.sql(sql, params=params).to_arrow_table())
    if result.is_empty():
        return pl.DataFrame(schema=schema)
    return result.select([pl.col(c).cast(t) for c, t in schema.items()])


def invoices_of_year(con: duckdb.DuckDBPyConnection, year: int) -> pl.DataFrame:
    """Every invoice of premium year `year` in the ledger (LEDGER_INVOICE_COLUMNS)."""
    columns = ", ".join(LEDGER_INVOICE_COLUMNS)
    sql = f"SELECT {columns} FROM premium_invoices WHERE premium_year = ?"
    return _frame(con, sql, [year], LEDGER_INVOICE_COLUMNS)


def last_reference_bases(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Per zorgkas, the highest reference base issued so far (all years)."""
    sql = "SELECT zorgkas, max(reference_base) AS last_base FROM premium_invoices GROUP BY zorgkas"
    return _frame(con, sql, [], {"zorgkas": pl.String, "last_base": pl.Int64})


def fines_of_year(con: duckdb.DuckDBPyConnection, fine_year: int) -> pl.DataFrame:
    columns = ", ".join(FINE_COLUMNS)
    return _frame(
        con,
        f"SELECT {columns} FROM premium_fines WHERE fine_year = ? ORDER BY zorgkas, insz",
        [fine_year],
        FINE_COLUMNS,
    )


@dataclass
class Commit:
    """What a run adds to the state when it publishes: new ledger rows, and its run row."""

    kind: str  # invoices or fines
    year: int
    run_date: dt.date
    table: str
    rows: pl.DataFrame  # the new ledger rows, without run_key
    key_prefix: str = ""  # invoices: "<Y>/"


def _run_key(run: RunFolder, commit: Commit) -> tuple[str, str]:
    """The run key and folder (relative to the outbox) this publication will get: <key>, then <key>.v2, ..."""
    versions = run.versions()
    name = run.key if not versions else f"{run.key}.v{len(versions) + 1}"
    return commit.key_prefix + name, f"{commit.kind}/{commit.key_prefix}{name}"


def publish_with_ledger(
    run: RunFolder, manifest: dict, replace: bool, con: duckdb.DuckDBPyConnection, commit: Commit
) -> Published:
    """Commit the run's ledger rows, then publish the complete staging folder by one rename.

    The outcome of `RunFolder.publish` is known before it renames: an identical result is a no-op
    and a different one without --replace is refused, and neither changes the state.
    """
    versions = run.versions()
    if versions and ((versions[-1] / MANIFEST).read_bytes() == canonical_json(manifest) or not replace):
        return run.publish(manifest, replace=replace)  # identical (no-op), or refused: raises
    run_key, folder = _run_key(run, commit)
    rows = commit.rows.with_columns(pl.lit(run_key).alias("run_key"))

    def insert_rows(con: duckdb.DuckDBPyConnection) -> None:
        con.register("new_ledger_rows", rows.to_arrow())
        try:
            columns = ", ".join(rows.columns)
            con.execute(f"INSERT INTO {commit.table} ({columns}) SELECT {columns} FROM new_ledger_rows")
        finally:
            con.unregister("new_ledger_rows")

    name = folder.rsplit("/", 1)[-1]
    path = commit_and_publish(con, run, name, manifest, commit.kind, run_key, commit.run_date, insert_rows)
    return Published(path, "replaced" if versions else "published")


def begin_premium_run(con: duckdb.DuckDBPyConnection, outbox: Path, kind: str, key: str) -> list[Path]:
    """What a premium run does first: complete the runs committed but not published (a run of this very
    kind and key, e.g. `2026/2026-01-02` or `2026`, that cannot be completed is redone by this run)."""
    versions = re.compile(rf"^{re.escape(key)}(?:[.]v[0-9]+)?$")
    return complete_unpublished(con, outbox, redo=lambda k, run_key, _: k == kind and bool(versions.match(run_key)))


# --- the invoice run ----------------------------------------------------------------------------------


def premium_amounts(reference: Reference, year: int) -> Amounts:
    """P-AMOUNT: the normal and reduced premium in force on 1 January of `year`; a missing one is a
    ParameterError naming it (the reduced premium of 2025), never a zero."""
    january_first = dt.date(year, 1, 1)
    money = reference.parameters.money_on
    return Amounts(money("premium_normal", january_first), money("premium_reduced", january_first))


@dataclass
class InvoicePlan:
    rows: pl.DataFrame  # ledger rows of this run's folder: issued earlier on D, then new (LEDGER_INVOICE_COLUMNS)
    new: pl.DataFrame  # the invoices this run issues (LEDGER_INVOICE_COLUMNS)
    counts: dict = field(default_factory=dict)


def plan_invoices(
    ingested: Ingested,
    held: pl.DataFrame,
    ledger: pl.DataFrame,
    last_bases: pl.DataFrame,
    year: int,
    invoice_date: dt.date,
    p: Params,
    premium: Amounts,
) -> InvoicePlan:
    """The invoices of the run (Y, D): those issued on D by an earlier attempt, read back from the
    ledger, and new ones for the liable members not invoiced by any run (nor held)."""
    members = ingested.valid("members").lazy()
    due = premium_due(
        members,
        ingested.valid("residence_periods").lazy(),
        ingested.valid("increased_allowance").lazy(),
        year,
        invoice_date,
        p,
        premium,
    ).collect()  # once: the queries below share it
    invoiced = ledger.lazy().select("insz")
    other_runs = ledger.lazy().filter(pl.col("invoice_date") != invoice_date).select("insz")
    fresh = due.lazy().join(invoiced, on="insz", how="anti")
    new_rows = reference_bases(fresh.join(held.lazy(), on="insz", how="anti"), last_bases.lazy()).select(
        [pl.col(c).cast(t) for c, t in LEDGER_INVOICE_COLUMNS.items()]
    )
    not_alive = members.filter(p_liable(year, min(invoice_date, dt.date(year, 1, 1))) & deceased_before(invoice_date))
    counted = {
        "liable": due.lazy(),
        "liable_already_invoiced_by_other_runs": due.lazy().join(other_runs, on="insz", how="semi"),
        "held": fresh.join(held.lazy(), on="insz", how="semi"),
        "deceased_not_invoiced": not_alive.join(invoiced, on="insz", how="anti"),
    }
    new, *lengths = pl.collect_all([new_rows, *(q.select(pl.len()) for q in counted.values())])
    check_new_invoices(new, ledger, last_bases)
    earlier = ledger.filter(pl.col("invoice_date") == invoice_date)
    counts = {
        "issued": new.height,
        "issued_earlier_on_this_date": earlier.height,
        **{name: n.item() for name, n in zip(counted, lengths, strict=True)},
    }
    return InvoicePlan(rows=pl.concat([earlier, new]), new=new, counts=counts)


def check_new_invoices(new: pl.DataFrame, ledger: pl.DataFrame, last_bases: pl.DataFrame) -> None:
    """The ledger's keys, checked before the commit (DuckDB constraints would cost ~2 s per million rows):
    one invoice per (insz, premium_year), and new reference bases above every base of their zorgkas and
    within 10 digits. The state is one DuckDB file that one run at a time holds open, so the ledger read
    at the start of the run is the ledger at the commit. Names counts, never a value."""
    numbers = new.select(insz_number(pl.col("insz")))["insz"]
    twice = new.height - numbers.n_unique() + new.join(ledger, on="insz", how="semi").height
    bases = new.group_by("zorgkas").agg(pl.col("reference_base").min().alias("first"), pl.col("reference_base").max())
    bases = bases.join(last_bases, on="zorgkas", how="left").with_columns(pl.col("last_base").fill_null(0))
    reused = bases.filter(pl.col("first") <= pl.col("last_base")).height
    if twice or reused or bases.filter(pl.col("reference_base") >= REFERENCE_BASE_LIMIT).height:
        raise PremiumRunError(
            f"P-REFERENCE/P-LIABLE: {twice} invoices would be issued twice, {reused} zorgkassen would reuse "
            "a reference base, or a zorgkas has used every 10-digit base"
        )


@task(name="plan-invoices", cache_policy=NO_CACHE)
def plan_invoices_task(ingested, held, ledger, last_bases, year, invoice_date, p, premium) -> InvoicePlan:
    return plan_invoices(ingested, held, ledger, last_bases, year, invoice_date, p, premium)


def _money_text(value) -> str:
    return str(Decimal(value or 0).quantize(Decimal("0.01")))


def canonical(frame: pl.DataFrame) -> pl.DataFrame:
    """The same rows in the same memory layout, however they were assembled (computed, or read back from
    the ledger): Parquet page splits follow the buffers, and a rerun must give byte-identical files."""
    lists = [pl.col(c).list.eval(pl.element()) for c, t in frame.schema.items() if isinstance(t, pl.List)]
    return frame.with_columns(lists).rechunk()


def csv_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Columns the CSV writer is slow on, as the text it would write: dates (few distinct values in a
    premium run) as ISO 8601, decimals as plain 123.45, lists of years as lists of text (joined by
    flows/io/outbox.py `csv_ready`)."""
    text = []
    for column, dtype in frame.schema.items():
        if dtype == pl.Date:
            days = frame[column].unique()
            text.append(pl.col(column).replace_strict(days, days.cast(pl.String), return_dtype=pl.String))
        elif isinstance(dtype, pl.Decimal):
            text.append(pl.col(column).cast(pl.String))
        elif dtype == pl.List(pl.Int32):
            text.append(pl.col(column).cast(pl.List(pl.String)))
    return frame.with_columns(text)


def write_zorgkas_files(
    files: FileLog,
    frame: pl.DataFrame,
    name: str,
    model,
    order_by: str,
    codes: list[str],
    run_info: dict,
    totals,
) -> dict[str, dict]:
    """<zorgkas>/<name>.parquet, .csv and manifest.json for every zorgkas: only its own members, in
    `order_by` order, with the columns of the pandera `model`, which checks each file before it is written."""
    slices = zorgkas_slices(frame, codes)
    if sum(s.height for s in slices.values()) != frame.height:
        raise PremiumRunError(f"{name}: rows of a zorgkas outside the reference list")
    columns = list(model.to_schema().columns)
    manifests = {}
    for code in codes:
        rows = canonical(slices[code].sort(order_by).select(columns))
        validated(model, rows)
        files.parquet(f"{code}/{name}.parquet", rows)
        files.csv(f"{code}/{name}.csv", csv_text(rows))
        manifest = {"run": run_info, "zorgkas": code, "files": files.under(code), "totals": totals(rows)}
        files.run.write_json(f"{code}/manifest.json", manifest)
        manifests[code] = manifest
    return manifests


def invoice_totals(rows: pl.DataFrame) -> dict:
    return {
        "invoices": rows.height,
        "reduced": int(rows["reduced"].sum()),
        "amount": _money_text(rows["amount"].sum()),
    }


def fine_totals(rows: pl.DataFrame) -> dict:
    return {"fines": rows.height, "amount": _money_text(rows["amount"].sum())}


def run_manifest(run_info: dict, reference: Reference, ingested: Ingested, landing: Path, zorgkassen: dict) -> dict:
    return {
        "run": run_info,
        "code_version": code_version(),
        "parameters_sha256": reference.parameters_sha256,
        "feeds": feed_manifest(ingested, landing),
        "zorgkassen": zorgkassen,
    }


@releasing_frames_on_error
def invoice_run(
    year: int,
    as_of: dt.date,
    landing: Path,
    outbox: Path,
    state: Path,
    accept_shrink: tuple[str, ...] = (),
    replace: bool = False,
    steps: Steps | None = None,
    ingest_one=None,
    plan=plan_invoices,
) -> dict:
    """The invoice run of (`year`, `as_of`) as plain steps (the flow passes its tasks; benchmarks call it
    directly): hold the state, complete an unpublished run, read, plan against the ledger, write the staging
    folder, commit, publish."""
    landing, outbox = Path(landing), Path(outbox)
    with hold_state(state, "invoices", f"{year} on {as_of.isoformat()}"):
        with open_state(state) as con:
            completed = begin_premium_run(con, outbox, "invoices", f"{year}/{as_of.isoformat()}")
        result = _invoice_run(year, as_of, landing, outbox, state, accept_shrink, replace, steps, ingest_one, plan)
    return completed_status(result, completed)


def completed_status(result: dict, completed: list[Path]) -> dict:
    """A run that found its own folder left unpublished by a killed attempt and published it: "published"."""
    if result["status"] == "identical" and Path(result["path"]) in completed:
        return result | {"status": "published"}
    return result


def _invoice_run(year, as_of, landing, outbox, state, accept_shrink, replace, steps, ingest_one, plan) -> dict:
    steps = steps or Steps(quiet=True)
    reference = load_reference()
    p = reference.parameters.params_on(as_of)
    premium = premium_amounts(reference, year)  # before reading anything: a missing amount stops the run
    ingested = ingest_feeds(landing, as_of, reference, INVOICE_FEEDS, set(accept_shrink), steps, ingest_one)
    run_info = {"kind": "invoices", "date": as_of.isoformat(), "premium_year": year}
    with open_state(state) as con:
        with steps.step("invoice") as shown:
            ledger, last_bases = invoices_of_year(con, year), last_reference_bases(con)
            planned = plan(ingested, held_persons(ingested), ledger, last_bases, year, as_of, p, premium)
            del ledger
            release_feeds(ingested)
            shown["issued"] = planned.new.height
            shown["in this run's folder"] = planned.rows.height
        with steps.step("publish") as shown:
            run = RunFolder(outbox, f"invoices/{year}", as_of.isoformat())
            try:
                invoices = published_invoices(planned.rows.lazy()).collect()
                files = FileLog(run)
                zorgkassen = write_zorgkas_files(
                    files,
                    invoices,
                    "invoices",
                    Invoices,
                    "reference_base",
                    reference.zorgkas_codes,
                    run_info,
                    invoice_totals,
                )
                report = {
                    "run": run_info,
                    "feeds": ingested.counts,
                    "invoices": planned.counts | {"per_zorgkas": {c: m["totals"] for c, m in zorgkassen.items()}},
                    "warnings": ingested.warnings,
                    "timings_seconds": steps.timings,
                }
                run.write_json("_report.json", report)
                manifest = run_manifest(run_info, reference, ingested, landing, zorgkassen)
                commit = Commit("invoices", year, as_of, "premium_invoices", planned.new, key_prefix=f"{year}/")
                published = publish_with_ledger(run, manifest, replace, con, commit)
            except BaseException:
                run.discard()
                raise
            shown["folder"] = published.path.name
    return {"path": str(published.path), "status": published.status, "issued": planned.new.height}


@flow(name="vsb-invoices", validate_parameters=False)
def run_invoices(
    year: int,
    as_of: dt.date,
    landing: Path,
    outbox: Path,
    state: Path,
    accept_shrink: tuple[str, ...] = (),
    replace: bool = False,
    quiet: bool = False,
) -> dict:
    """The yearly premium invoice run of year `year` on invoice date `as_of` (a rerun issues only the
    invoices not yet issued)."""
    return invoice_run(
        year,
        as_of,
        landing,
        outbox,
        state,
        accept_shrink,
        replace,
        Steps(quiet=quiet),
        ingest_one=ingest_feed_task,
        plan=plan_invoices_task,
    )


# --- the fine run -------------------------------------------------------------------------------------


@dataclass
class FinePlan:
    rows: pl.DataFrame  # fines of year F: proposed by an earlier attempt, then new (FINE_COLUMNS)
    new: pl.DataFrame
    counts: dict = field(default_factory=dict)


def plan_fines(
    ingested: Ingested, held: pl.DataFrame, ledger: pl.DataFrame, fine_year: int, p: Params, fine: Amounts
) -> FinePlan:
    """The fine candidates of year F: those already in the ledger for F, and the new ones (at most
    one fine per person and year F)."""
    candidates = fine_candidates(
        ingested.valid("members").lazy(),
        ingested.valid("premium_payments").lazy(),
        ingested.valid("increased_allowance").lazy(),
        fine_year,
        p,
        fine,
    ).collect()
    fresh = candidates.join(ledger.select("insz"), on="insz", how="anti")
    new = fresh.join(held, on="insz", how="anti").sort("zorgkas", "insz")
    rows = pl.concat([ledger, new]).sort("zorgkas", "insz")
    counts = {
        "candidates": candidates.height,
        "proposed": new.height,
        "proposed_earlier": ledger.height,
        "held": fresh.height - new.height,
    }
    return FinePlan(rows=rows, new=new, counts=counts)


@task(name="plan-fines", cache_policy=NO_CACHE)
def plan_fines_task(ingested, held, ledger, fine_year, p, fine) -> FinePlan:
    return plan_fines(ingested, held, ledger, fine_year, p, fine)


@releasing_frames_on_error
def fine_run(
    year: int,
    landing: Path,
    outbox: Path,
    state: Path,
    accept_shrink: tuple[str, ...] = (),
    replace: bool = False,
    steps: Steps | None = None,
    ingest_one=None,
    plan=plan_fines,
) -> dict:
    """The fine run of `year` as plain steps (see `invoice_run`)."""
    landing, outbox = Path(landing), Path(outbox)
    with hold_state(state, "fines", str(year)):
        with open_state(state) as con:
            completed = begin_premium_run(con, outbox, "fines", str(year))
        result = _fine_run(year, landing, outbox, state, accept_shrink, replace, steps, ingest_one, plan)
    return completed_status(result, completed)


def _fine_run(year, landing, outbox, state, accept_shrink, replace, steps, ingest_one, plan) -> dict:
    steps = steps or Steps(quiet=True)
    reference = load_reference()
    reference_date = fine_reference_date(year, reference.parameters.params_on(dt.date(year, 1, 1)))
    p = reference.parameters.params_on(reference_date)
    money = reference.parameters.money_on
    fine = Amounts(money("fine_normal", reference_date), money("fine_reduced", reference_date))
    ingested = ingest_feeds(landing, reference_date, reference, FINE_FEEDS, set(accept_shrink), steps, ingest_one)
    run_info = {"kind": "fines", "date": reference_date.isoformat(), "fine_year": year}
    with open_state(state) as con:
        with steps.step("fine candidates") as shown:
            planned = plan(ingested, held_persons(ingested), fines_of_year(con, year), year, p, fine)
            release_feeds(ingested)
            shown["proposed"] = planned.new.height
            shown["in this run's folder"] = planned.rows.height
        with steps.step("publish") as shown:
            run = RunFolder(outbox, "fines", str(year))
            try:
                files = FileLog(run)
                zorgkassen = write_zorgkas_files(
                    files,
                    planned.rows,
                    "fines",
                    Fines,
                    "insz",
                    reference.zorgkas_codes,
                    run_info,
                    fine_totals,
                )
                report = {
                    "run": run_info,
                    "feeds": ingested.counts,
                    "fines": planned.counts | {"per_zorgkas": {c: m["totals"] for c, m in zorgkassen.items()}},
                    "warnings": ingested.warnings,
                    "timings_seconds": steps.timings,
                }
                run.write_json("_report.json", report)
                manifest = run_manifest(run_info, reference, ingested, landing, zorgkassen)
                commit = Commit("fines", year, reference_date, "premium_fines", planned.new)
                published = publish_with_ledger(run, manifest, replace, con, commit)
            except BaseException:
                run.discard()
                raise
            shown["folder"] = published.path.name
    return {"path": str(published.path), "status": published.status, "proposed": planned.new.height}


@flow(name="vsb-fines", validate_parameters=False)
def run_fines(
    year: int,
    landing: Path,
    outbox: Path,
    state: Path,
    accept_shrink: tuple[str, ...] = (),
    replace: bool = False,
    quiet: bool = False,
) -> dict:
    """The fine-candidate run of year `year` (F-FINE), judged on its fine reference date (15 October F)
    with the deliveries as of that date."""
    return fine_run(
        year,
        landing,
        outbox,
        state,
        accept_shrink,
        replace,
        Steps(quiet=quiet),
        ingest_one=ingest_feed_task,
        plan=plan_fines_task,
    )

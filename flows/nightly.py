"""The nightly run: ingest every feed for the run date and publish the run folder atomically.

outbox/nightly/<D>/: quarantine/<feed>.parquet, _report.json, and _manifest.json written last.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.decisions import DECIDE_FEEDS, Decided, run_decisions
from flows.ingest import Ingested, ingest, ingest_feed
from flows.landing import file_digests
from flows.outputs import FileLog, zorgkas_slices
from flows.progress import Steps
from flows.publish import Published, RunFolder
from flows.reference import Reference, load_reference
from flows.runtime import code_version
from schemas.outputs import DecidedPeriods, Quarantine, Worklist


@task(name="ingest-feed", cache_policy=NO_CACHE, task_run_name="ingest-{feed}")
def ingest_feed_task(feed, delivery, landing, as_of, reference):
    return ingest_feed(feed, delivery, landing, as_of, reference)


@task(name="decide", cache_policy=NO_CACHE)
def decide_task(ingested: Ingested, reference: Reference, as_of: dt.date) -> Decided:
    return run_decisions(ingested, reference, as_of)


def feed_manifest(ingested: Ingested, landing: Path) -> dict:
    """For each feed, the delivery used: its date, files with rows and sha256."""
    paths = [f for d in ingested.deliveries.values() for f in d.files]
    digests = file_digests(paths)
    import pyarrow.parquet as pq

    return {
        feed: {
            "delivery_date": d.delivery_date.isoformat(),
            "rows": d.rows,
            "files": [
                {
                    "path": f.relative_to(landing).as_posix(),
                    "rows": pq.ParquetFile(f).metadata.num_rows,
                    "sha256": digests[f],
                }
                for f in d.files
            ],
        }
        for feed, d in ingested.deliveries.items()
    }


def publish_nightly(
    ingested: Ingested,
    decided: Decided,
    reference: Reference,
    landing: Path,
    outbox: Path,
    replace: bool,
    timings: dict,
) -> Published:
    """Write every file of the run into its staging folder, then publish it with the manifest last."""
    run = RunFolder(outbox, "nightly", ingested.as_of.isoformat())
    try:
        files = FileLog(run)
        for feed, staged in ingested.feeds.items():
            Quarantine.validate(staged.quarantine)
            files.parquet(f"quarantine/{feed}.parquet", staged.quarantine)
        DecidedPeriods.validate(decided.periods)
        files.parquet("_decisions/periods.parquet", decided.periods)
        files.parquet("_decisions/absences.parquet", decided.absences)
        Worklist.validate(decided.worklist)
        zorgkassen = {}
        worklists = zorgkas_slices(decided.worklist, reference.zorgkas_codes)
        for code in reference.zorgkas_codes:
            files.parquet(f"{code}/worklist.parquet", worklists[code])
            files.csv(f"{code}/worklist.csv", worklists[code])
            manifest = {
                "run": {"kind": "nightly", "date": ingested.as_of.isoformat()},
                "zorgkas": code,
                "files": files.under(code),
                "totals": {"worklist": dict(sorted(worklists[code].group_by("code").len().iter_rows()))},
            }
            zorgkassen[code] = manifest
            run.write_json(f"{code}/manifest.json", manifest)
        run.write_json(
            "_report.json",
            {
                "run": {"kind": "nightly", "date": ingested.as_of.isoformat()},
                "feeds": ingested.counts,
                "decisions": decision_counts(decided),
                "warnings": ingested.warnings,
                "timings_seconds": timings,
            },
        )
        manifest = {
            "run": {"kind": "nightly", "date": ingested.as_of.isoformat()},
            "code_version": code_version(),
            "parameters_sha256": reference.parameters_sha256,
            "feeds": feed_manifest(ingested, landing),
            "files": [e for k, e in sorted(files.entries.items()) if k.split("/")[0] not in zorgkassen],
            "zorgkassen": zorgkassen,
        }
        return run.publish(manifest, replace=replace)
    except BaseException:
        run.discard()
        raise


def decision_counts(decided: Decided) -> dict:
    """Counts per budget and status, and per work-list code: no insz."""
    periods = decided.periods.group_by("budget", "status").len().sort("budget", "status")
    return {
        "periods": {f"{b}:{s}": n for b, s, n in periods.iter_rows()},
        "months_entitled": decided.months_entitled(),
        "persons_with_a_right": decided.periods["insz"].n_unique(),
        "absence_budgets_due": int(decided.absences["due"].sum()),
        "worklist": dict(sorted(decided.worklist.group_by("code").len().iter_rows())),
    }


@flow(name="vsb-nightly", validate_parameters=False)
def run_nightly(
    as_of: dt.date,
    landing: Path,
    outbox: Path,
    state: Path,
    accept_shrink: tuple[str, ...] = (),
    accept_mass_change: bool = False,
    replace: bool = False,
    quiet: bool = False,
) -> dict:
    """The nightly run for `as_of`: ingest, validate, quarantine, publish."""
    steps = Steps(quiet=quiet)
    reference = load_reference()
    ingested = ingest(
        Path(landing), as_of, reference, set(accept_shrink), steps, ingest_one=ingest_feed_task, keep=set(DECIDE_FEEDS)
    )
    with steps.step("decide") as shown:
        decided = decide_task(ingested, reference, as_of)
        shown["persons with a right"] = decided.periods["insz"].n_unique()
        shown["months entitled"] = decided.months_entitled()
    with steps.step("publish") as shown:
        published = publish_nightly(ingested, decided, reference, Path(landing), Path(outbox), replace, steps.timings)
        shown["folder"] = published.path.name
    return {"path": str(published.path), "status": published.status}

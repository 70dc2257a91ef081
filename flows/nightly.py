"""The nightly run: ingest every feed for the run date and publish the run folder atomically.

outbox/nightly/<D>/: quarantine/<feed>.parquet, _report.json, and _manifest.json written last.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.ingest import Ingested, ingest, ingest_feed
from flows.landing import file_digests
from flows.progress import Steps
from flows.publish import Published, RunFolder
from flows.reference import load_reference
from flows.runtime import code_version
from schemas.outputs import Quarantine


@task(name="ingest-feed", cache_policy=NO_CACHE, task_run_name="ingest-{feed}")
def ingest_feed_task(feed, delivery, landing, as_of, reference):
    return ingest_feed(feed, delivery, landing, as_of, reference)


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
    ingested: Ingested, landing: Path, outbox: Path, reference_digest: str, replace: bool, timings: dict
) -> Published:
    run = RunFolder(outbox, "nightly", ingested.as_of.isoformat())
    try:
        files = []
        for feed, staged in ingested.feeds.items():
            Quarantine.validate(staged.quarantine)
            path = run.write_parquet(f"quarantine/{feed}.parquet", staged.quarantine)
            files.append(
                {
                    "name": f"quarantine/{feed}.parquet",
                    "rows": staged.quarantine.height,
                    "sha256": file_digests([path])[path],
                }
            )
        run.write_json(
            "_report.json",
            {
                "run": {"kind": "nightly", "date": ingested.as_of.isoformat()},
                "feeds": ingested.counts,
                "warnings": ingested.warnings,
                "timings_seconds": timings,
            },
        )
        manifest = {
            "run": {"kind": "nightly", "date": ingested.as_of.isoformat()},
            "code_version": code_version(),
            "parameters_sha256": reference_digest,
            "feeds": feed_manifest(ingested, landing),
            "files": files,
            "zorgkassen": {},
        }
        return run.publish(manifest, replace=replace)
    except BaseException:
        run.discard()
        raise


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
    ingested = ingest(Path(landing), as_of, reference, set(accept_shrink), steps, ingest_one=ingest_feed_task)
    with steps.step("publish") as shown:
        published = publish_nightly(
            ingested, Path(landing), Path(outbox), reference.parameters_sha256, replace, steps.timings
        )
        shown["folder"] = published.path.name
    return {"path": str(published.path), "status": published.status}

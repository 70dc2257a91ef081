"""Write a synthetic landing zone (synthdata/synthetic.py) as Parquet, in the docs/spec/feeds.md layout.

<out>/<feed>/delivery_date=YYYY-MM-DD/part-00000.parquet, part-00001.parquet, ...
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import polars as pl

from schemas.feeds import FEEDS
from synthdata.scenarios import scenario_rows
from synthdata.synthetic import iter_landing


def zorgkas_codes(reference_dir: Path) -> list[str]:
    """The zorgkas codes of `<reference_dir>/zorgkassen.csv` (column `code`), in file order."""
    frame = pl.read_csv(Path(reference_dir) / "zorgkassen.csv", columns=["code"], schema_overrides={"code": pl.String})
    return frame["code"].to_list()


def write_landing(
    out: Path,
    n_members: int,
    seed: int,
    as_of: dt.date,
    zorgkas_codes: list[str],
    rows_per_file: int = 2_000_000,
    scenarios: bool = False,
) -> dict:
    """Generate and write every feed and delivery; return rows per feed and delivery.

    `scenarios`: add the reviewed persons of synthdata/scenarios.py to every delivery (the sample).

    Each frame is split into files of at most `rows_per_file` rows. Stale `part-*.parquet`
    files of a delivery folder that is rewritten are removed first, so a folder never mixes
    two generations; nothing else is written or removed.
    """
    if rows_per_file < 1:
        raise ValueError("rows_per_file must be at least 1")
    out = Path(out)
    rows: dict[str, dict[str, int]] = {}
    files = 0
    size = 0
    for feed, delivery, frame in iter_landing(n_members, seed, as_of, zorgkas_codes):
        extra = scenario_rows(delivery) if scenarios else {}
        if feed in extra:  # the reviewed scenario persons of synthdata/scenarios.py
            added = pl.DataFrame(extra[feed], schema=FEEDS[feed].columns, orient="row")
            if feed == "members" and frame["insz"].is_in(added["insz"].implode()).any():
                raise ValueError("a generated member has the insz of a scenario person: choose another seed")
            frame = pl.concat([frame, added])
        folder = out / feed / f"delivery_date={delivery.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("part-*.parquet"):
            stale.unlink()
        parts = max(1, math.ceil(frame.height / rows_per_file))
        for i in range(parts):
            path = folder / f"part-{i:05d}.parquet"
            frame.slice(i * rows_per_file, rows_per_file).write_parquet(path, statistics=True)
            files += 1
            size += path.stat().st_size
        rows.setdefault(feed, {})[delivery.isoformat()] = frame.height
        del frame
    return {
        "n_members": n_members,
        "seed": seed,
        "as_of": as_of.isoformat(),
        "rows": rows,
        "files": files,
        "bytes": size,
    }

"""overview.xlsx and _report.html (pipelines/emit/): time and peak memory on a payments sheet of N rows.

    .venv/bin/python benchmarks/emit.py --rows 400000 1200000

Each measurement runs in a fresh process: it builds a payments.parquet-like frame of N rows (20 months
a person, the columns of PAYMENT_COLUMNS), then writes the workbook in the default (in-memory) mode
or with low_memory=True. Beyond 1,048,575 rows the sheet continues on "payments (2)". Then
report_html of tests/report_sample.json, rendered 100 times.
"""

from __future__ import annotations

import argparse
import json

from common import ROOT, measure

XLSX_CODE = """
import time
import polars as pl
from pipelines.emit.overview import CODES_COLUMNS, overview_xlsx, sheet_names
n = {rows}
i = pl.col("i")
person = (i // 20)
months = pl.date_range(pl.date(2024, 1, 1), pl.date(2025, 8, 1), "1mo", eager=True)
payments = pl.DataFrame({{"i": pl.int_range(n, eager=True)}}).select(
    pl.format("VSB20261126ZK100{{}}", person.cast(pl.String).str.zfill(8)).alias("end_to_end_id"),
    (person * 7919 % 10**11).cast(pl.String).str.zfill(11).alias("insz"),
    pl.lit("ZK100").alias("zorgkas"),
    pl.lit("ZZB").alias("budget"),
    pl.lit(months).get(i % 20).alias("month"),
    pl.lit(1, pl.Int64).alias("quantity"),
    pl.lit(140).cast(pl.Decimal(12, 2)).alias("amount"),
    pl.format("BE{{}}", (person * 7919 % 10**14).cast(pl.String).str.zfill(14)).alias("iban"),
    pl.format("Naam Persoon {{}}", person).alias("name"),
)
codes = pl.DataFrame(schema=CODES_COLUMNS)
import resource
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
t0 = time.perf_counter()
data = overview_xlsx({{"payments": payments}}, codes, low_memory={low_memory})
result = {{"rows": n, "low_memory": {low_memory}, "xlsx_seconds": round(time.perf_counter() - t0, 2),
           "xlsx_mib": round(len(data) / 2**20, 1), "rss_before_xlsx_gib": round(before, 2),
           "sheets": sheet_names({{"payments": payments}})["payments"]}}
"""

HTML_CODE = """
import json, time
from pathlib import Path
import polars as pl
from pipelines.emit.report import report_html
sample = json.loads(Path({sample!r}).read_text())
trends = pl.DataFrame(sample["trends"]).with_columns(pl.col("run_date").str.to_date())
t0 = time.perf_counter()
for _ in range(100):
    page = report_html(sample["report"], trends)
result = {{"html_ms_per_page": round((time.perf_counter() - t0) * 10, 2), "html_kib": round(len(page) / 1024, 1)}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[400_000])
    args = parser.parse_args()
    results = []
    for rows in args.rows:
        for low_memory in (False, True):
            row = measure(XLSX_CODE.format(rows=rows, low_memory=low_memory))
            results.append(row)
            print(json.dumps(row), flush=True)
    page = measure(HTML_CODE.format(sample=str(ROOT / "tests" / "report_sample.json")))
    results.append(page)
    print(json.dumps(page), flush=True)
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "emit.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

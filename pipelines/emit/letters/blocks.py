"""The blocks of a file of letters: the parts that many letters share word for word, typeset once.

Typesetting text is what a letter costs (about 1.5 ms a page of text in Typst); placing a block typeset
before costs almost nothing. So the parts of a letter that depend only on a few of its values are blocks:
- head: the zorgkas's letterhead (zorgkas, language);
- main: per kind, the decision and its details (language, budget, topic, first month, last month, monthly
  amount), the recovery's title (language), the whole request (language, topic, since), the invoice but its
  reference (language, zorgkas, topic, year, amount, allowance date, due date);
- paid: a decision's months and amounts paid in the run (language, months, total, paid note): the grants
  that start in the same month are paid the same months;
- end: per kind, the appeal route and the closing (language, zorgkas, appeal), for a recovery with how to pay
  back, for an invoice with the OCMW's help; a request's closing (language, zorgkas);
- rule: a rule of a motivation, its title and sentence (language, code, outcome).
A file's blocks are typeset in one compilation (templates/blocks.typ, one page a block) and each letter
names the pages of its blocks; the rest of a letter (address, date and id, the months paid, the records
behind its motivation, a recovery's months, a reference) is typeset in the letter itself.

Pure and vectorised: `file_blocks` gives the block specs of a slice of letters and the letters with their
pages. A spec holds only the values its block depends on: if a template read another, Typst would stop with
an error, never print another letter's value.
"""

from __future__ import annotations

import polars as pl

from pipelines.emit.letters.payment import qr_svg

# (block, letter kind) -> the letter columns the block depends on; kind None: every kind
# `texts`: the texts of the letter's language and voice (L-ADDRESSEE)
BLOCKS: dict[tuple[str, str | None], list[str]] = {
    ("head", None): ["zorgkas", "language"],
    ("main", "L-DECISION"): [
        "language", "texts", "budget", "topic", "first_month", "last_month", "monthly_amount", "earlier"
    ],
    ("main", "L-RECOVERY"): ["language", "texts"],
    ("main", "L-REQUEST"): ["language", "texts", "topic", "since"],
    ("main", "L-INVOICE"): [
        "language", "texts", "zorgkas", "topic", "premium_year", "amount", "allowance_date", "due_date"
    ],
    ("paid", "L-DECISION"): ["language", "texts", "months", "total", "paid_note"],
    ("end", "L-DECISION"): ["language", "texts", "zorgkas", "appeal"],
    ("end", "L-RECOVERY"): ["language", "texts", "zorgkas", "appeal"],
    ("end", "L-REQUEST"): ["language", "texts", "zorgkas"],
    ("end", "L-INVOICE"): ["language", "texts", "zorgkas"],
}  # fmt: skip
RULE_COLUMNS = ["language", "texts", "code", "outcome"]


def _specs(frame: pl.DataFrame, columns: list[str], block: str, kind: str | None, first_page: int):
    """The distinct values of `columns` in `frame` (in order of appearance) as specs numbered from `first_page`,
    and each row's page."""
    key = pl.struct(columns).struct.json_encode()
    keyed = frame.with_columns(key.alias("_key"))
    distinct = keyed.unique("_key", keep="first", maintain_order=True).with_row_index("_page", offset=first_page)
    specs = distinct.select(pl.lit(block).alias("block"), pl.lit(kind).alias("kind"), *columns)
    pages = keyed.join(distinct.select("_key", "_page"), on="_key", how="left", maintain_order="left")["_page"]
    return specs, pages


def file_blocks(letters: pl.DataFrame) -> tuple[str, pl.DataFrame]:
    """The block specs of `letters` (a file's slice of content.TEMPLATE_COLUMNS) as a JSON array, page 1 first, and
    the letters with `blocks` (head, main, end: pages), a `page` in each motivation item and `qr` in place of `epc`
    (`with_qr_codes`): what the letters' template reads."""
    specs, pages, page = [], {}, 1
    for (block, kind), columns in BLOCKS.items():
        rows = letters.with_row_index("_row")
        if kind is not None:
            rows = rows.filter(pl.col("kind") == kind)
        if rows.height == 0:
            continue
        spec, found = _specs(rows, columns, block, kind, page)
        specs.append(spec.write_json()[1:-1])
        page += spec.height
        pages.setdefault(block, []).append(rows.select("_row", found.alias(block)))
    numbered = letters.with_row_index("_row")
    for parts in pages.values():
        numbered = numbered.join(pl.concat(parts), on="_row", how="left", maintain_order="left")
    numbered = numbered.with_columns(pl.struct(*pages).alias("blocks")).drop(*pages)
    items = numbered.select("_row", "language", "texts", "motivation").explode("motivation").drop_nulls("motivation")
    items = items.unnest("motivation")
    if items.height:
        spec, found = _specs(items, RULE_COLUMNS, "rule", None, page)
        specs.append(spec.drop("kind").write_json()[1:-1])
        items = items.with_columns(found.alias("page"))
        motivation = (
            items.drop("language", "texts")
            .group_by("_row", maintain_order=True)
            .agg(pl.struct(pl.all().exclude("_row")).alias("motivation"))
        )
        numbered = numbered.drop("motivation").join(motivation, on="_row", how="left", maintain_order="left")
        empty = pl.lit([], dtype=numbered.schema["motivation"])
        numbered = numbered.with_columns(pl.col("motivation").fill_null(empty))
    return "[" + ",".join(s for s in specs if s) + "]", with_qr_codes(numbered.drop("_row"))


def with_qr_codes(letters: pl.DataFrame) -> pl.DataFrame:
    """`letters` with `qr`, the SVG of the EPC QR code of each letter's `epc` payload (null without one), instead of
    `epc`. One code a letter: drawn here, in the worker that renders the file, never held for a whole run."""
    if "epc" not in letters.columns:
        return letters.with_columns(pl.lit(None, pl.String).alias("qr"))
    drawn = [None if payload is None else qr_svg(payload) for payload in letters["epc"]]
    return letters.drop("epc").with_columns(pl.Series("qr", drawn, dtype=pl.String))

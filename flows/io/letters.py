"""Rendering the letters of a run into letters/NNNN.pdf and the rows of letters.parquet (docs/spec/rules.md §9,
docs/spec/outputs.md).

The I/O edge of pipelines/emit/letters: the letter rows (content.LETTER_COLUMNS, built by the pure
builders) go in, PDF files come out. Each file takes two Typst compilations over a slice of the rows,
in print order, with the slice as JSON in `sys.inputs.data`: templates/blocks.typ typesets the blocks
the file's letters share (pipelines/emit/letters/blocks.py: letterheads, decisions, paid months, rules,
appeal routes, ...) into blocks.pdf, then templates/letters.typ typesets the letters, placing those
blocks as pages of blocks.pdf; each letter starts on a new page. Typesetting text is what a letter
costs: the blocks make a decision letter about twice and an invoice letter about 2.5 times as fast
(benchmarks/letters.py). Typst memoizes every call of a template function, hashing all its arguments first: so
templates/letters.typ writes each letter's page out in its loop and passes small arguments (22% fewer instructions
for a decision letter than calls taking the letter's 14 KB of texts several times).

Where each letter starts and how many pages it has: every letter puts a `metadata` marker at its
start, and the last letter's page adds one `context` that lists the page of every marker and the
file's page count, read back with the same compiler's `query` (it reuses the compilation: a few
milliseconds for 10,000 letters).

Memory: a Typst compilation holds the whole laid-out file and the typst package keeps its caches for
the life of the process. So each file is compiled in a fresh worker process (`max_tasks_per_child=1`,
forked from a fork server: see `_pool`), and files are rendered in parallel across processes: one pool
for every zorgkas of a run (`LetterPress`). The parent queues a file as a zero-copy slice of the rows; its
JSON is built in the worker, so the parent never holds the JSON of the whole run. A script that calls
render_letters must guard its entry point with `if __name__ == "__main__":` (multiprocessing imports the
main module in the fork server). docs/spec/outputs.md allows up to 10,000 letters a file, but a worker's peak grows
with the letters of its file; LETTERS_PER_FILE (1,500) keeps the parent and two workers under 2 GiB for
every kind (benchmarks/letters.py, benchmarks/results/letters.json); a file costs about 0.1 s of worker
start-up (fork, slice, JSON), so smaller files cost little throughput. Files larger than one compilation
can hold would need the PDFs of several compilations merged: not done.

Deterministic: `#set document(date: none)`, no system fonts (the fonts embedded in the typst
package), the same rows give byte-identical files (the blocks are numbered in the order the file's
letters first use them).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from importlib import resources
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import polars as pl
import typst

from flows.orphans import tie_worker
from flows.publication.folder import FILE_MODE, writing
from flows.reference import load_agency
from pipelines.emit.letters.blocks import file_blocks
from pipelines.emit.letters.content import LETTER_COLUMNS, TEMPLATE_COLUMNS, print_order
from pipelines.emit.letters.language import iban_text, letter_texts, with_agency
from schemas.outputs import Letters, columns

LETTERS_PER_FILE_MAX = 10_000  # docs/spec/outputs.md
LETTERS_PER_FILE = 1_500  # memory: see the module docstring
LETTERS_PARQUET_COLUMNS = columns(Letters)
LETTERHEAD_COLUMNS = ["name", "street", "postal_code", "city", "phone", "web", "iban", "bic"]


@dataclass(frozen=True)
class RenderedFile:
    """What one worker did: the file, where each of its letters starts, and what it cost."""

    file: str
    starts: list[int]
    pages: int
    seconds: float  # wall time in the worker: JSON, compilation, query, write
    cpu_seconds: float  # CPU time of the worker for the same (all its threads): independent of other load
    peak_rss_kib: int  # VmHWM of the worker process that compiled the file


@contextmanager
def _templates() -> Iterator[Path]:
    with resources.as_file(resources.files("pipelines.emit.letters").joinpath("templates")) as folder:
        yield Path(folder)


def letterheads(zorgkassen: pl.DataFrame, codes: list[str]) -> dict[str, dict[str, str]]:
    """The letterhead of each zorgkas in `codes` (reference data: name, postal address, telephone, web,
    account), as the templates read it."""
    rows = zorgkassen.filter(pl.col("code").is_in(codes)).with_columns(iban_text(pl.col("iban")).alias("iban"))
    missing = sorted(set(codes) - set(rows["code"].to_list()))
    if missing:
        raise ValueError(f"no letterhead in the zorgkassen reference for {', '.join(missing)}")
    absent = [c for c in LETTERHEAD_COLUMNS if c not in rows.columns]
    if absent:
        raise ValueError(f"the zorgkassen reference lacks {', '.join(absent)} for the letterhead")
    return {r["code"]: {c: str(r[c]) for c in LETTERHEAD_COLUMNS} for r in rows.iter_rows(named=True)}


def _peak_rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def render_file(
    templates: str, target: str, header: str, slice_: pl.DataFrame, scratch_in: str | None = None
) -> RenderedFile:
    """Compile one file of letters (a slice of TEMPLATE_COLUMNS in print order) and write it to `target`.

    First the file's blocks (pipelines/emit/letters/blocks.py) into blocks.pdf, then the letters, which place
    them; both in a scratch folder holding a copy of the templates. `header` is the JSON text of
    {"texts": ..., "zorgkassen": ...} without its closing brace. Runs in a worker process.

    The scratch folder is made inside `scratch_in` (a run's staging folder: a worker or run killed mid-file leaves
    it there, and it goes with the staging folder), by default beside `target`; never in /tmp.
    """
    started, cpu_started = time.perf_counter(), time.process_time()
    specs, letters = file_blocks(slice_)
    del slice_
    with tempfile.TemporaryDirectory(prefix=".scratch-letters-", dir=scratch_in or Path(target).parent) as scratch:
        for template in Path(templates).glob("*.typ"):
            shutil.copyfile(template, Path(scratch) / template.name)
        blocks = typst.Compiler(
            str(Path(scratch) / "blocks.typ"), root=scratch, ignore_system_fonts=True,
            sys_inputs={"data": header + ',"blocks":' + specs + "}"},
        ).compile()  # fmt: skip
        (Path(scratch) / "blocks.pdf").write_bytes(blocks)
        data = header + ',"letters":' + letters.write_json() + "}"
        del letters
        compiler = typst.Compiler(
            str(Path(scratch) / "letters.typ"), root=scratch, ignore_system_fonts=True, sys_inputs={"data": data}
        )
        pdf = compiler.compile()
        found = json.loads(compiler.query("<letter-pages>", field="value", one=True))
    path = Path(target)
    with writing(path):  # a full outbox: one line naming the file (issue 20)
        path.write_bytes(pdf)
    path.chmod(FILE_MODE)
    return RenderedFile(
        file=path.name,
        starts=found["starts"],
        pages=found["pages"],
        seconds=time.perf_counter() - started,
        cpu_seconds=time.process_time() - cpu_started,
        peak_rss_kib=_peak_rss_kib(),
    )


def _pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes, each used for one file and then ended (the typst package never frees its caches).

    Forked from a fork server that has imported this module (polars, typst) and the main module once:
    a spawned worker would import them again for every file (0.5 s, several seconds when the main module
    is the `vsb` command, which imports Prefect). The server forks before any polars thread runs.
    """
    context = get_context("forkserver")
    context.set_forkserver_preload(["__main__", __name__])
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        max_tasks_per_child=1,
        initializer=tie_worker,  # a worker dies with the command, however it dies (flows/orphans.py)
        initargs=(os.getpid(),),
    )


def _in_print_order(letters: pl.DataFrame) -> pl.DataFrame:
    """`letters` in print order; without copying the frame when it already is (the builders return it so)."""
    order = print_order(letters.select("language", "postal_code", "letter_id").with_row_index("_row"))["_row"]
    return letters if order.is_sorted() else letters[order]


def _file_name(number: int) -> str:
    return f"{number:04d}.pdf"


class LetterPress:
    """The letters of a run, rendered by one pool of worker processes for every folder (one per zorgkas).

    `submit(key, letters, out_dir)` queues the files of one folder at once (zero-copy slices of the frame: the
    JSON of a file is built in its worker); `rows(key)` waits for them and gives that folder's letters.parquet
    rows. So the files of every zorgkas keep both cores busy, and a zorgkas with one file does not leave one
    idle. Leaving the `with` block shuts the pool down (on an error, the files not started are cancelled).
    """

    def __init__(
        self,
        zorgkassen: pl.DataFrame,
        *,
        letters_per_file: int = LETTERS_PER_FILE,
        workers: int | None = None,
        texts: dict[str, dict[str, Any]] | None = None,
        on_file: Callable[[RenderedFile], None] | None = None,
        scratch: Path | None = None,
    ):
        if not 1 <= letters_per_file <= LETTERS_PER_FILE_MAX:
            raise ValueError(f"letters_per_file must be 1..{LETTERS_PER_FILE_MAX}, not {letters_per_file}")
        self.zorgkassen, self.letters_per_file, self.on_file = zorgkassen, letters_per_file, on_file
        self.scratch = str(scratch) if scratch is not None else None  # where the workers' scratch folders go
        self.workers = workers or os.cpu_count() or 1
        self.texts = texts or with_agency(letter_texts(), load_agency())
        self.jobs: dict[str, tuple[pl.DataFrame, list[Future]]] = {}
        self._stack = ExitStack()

    def __enter__(self) -> LetterPress:
        self.templates = str(self._stack.enter_context(_templates()))
        self.pool = self._stack.enter_context(_pool(self.workers))
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        self._stack.close()

    def submit(self, key: str, letters: pl.DataFrame, out_dir: Path) -> None:
        """Queue the files of `letters` (content.LETTER_COLUMNS) in out_dir: 0001.pdf, 0002.pdf, ..."""
        missing = [c for c in LETTER_COLUMNS if c not in letters.columns]
        if missing:
            raise ValueError(f"the letters frame lacks {', '.join(missing)}")
        ordered = _in_print_order(letters)
        futures: list[Future] = []
        if ordered.height:
            out_dir = Path(out_dir)
            out_dir.mkdir(parents=True, exist_ok=True)
            heads = letterheads(self.zorgkassen, ordered["zorgkas"].unique().sort().to_list())
            header = json.dumps({"texts": self.texts, "zorgkassen": heads}, ensure_ascii=False, sort_keys=True)
            header = header[:-1]  # the letters are appended by render_file
            rows = ordered.select(TEMPLATE_COLUMNS)
            for number in range((ordered.height + self.letters_per_file - 1) // self.letters_per_file):
                chunk = rows.slice(number * self.letters_per_file, self.letters_per_file)
                target = str(out_dir / _file_name(number + 1))
                futures.append(self.pool.submit(render_file, self.templates, target, header, chunk, self.scratch))
        self.jobs[key] = (ordered, futures)

    def rows(self, key: str) -> pl.DataFrame:
        """The letters.parquet rows (LETTERS_PARQUET_COLUMNS) of the folder `key`, once its files are written."""
        ordered, futures = self.jobs.pop(key)
        if ordered.height == 0:
            return pl.DataFrame(schema=LETTERS_PARQUET_COLUMNS)
        done = {}
        for number, future in enumerate(futures):
            done[number] = future.result()
            if self.on_file is not None:
                self.on_file(done[number])
        return _letter_rows(ordered, done)


def render_letters(
    letters: pl.DataFrame,
    out_dir: Path,
    zorgkassen: pl.DataFrame,
    *,
    letters_per_file: int = LETTERS_PER_FILE,
    workers: int | None = None,
    texts: dict[str, dict[str, Any]] | None = None,
    on_file: Callable[[RenderedFile], None] | None = None,
) -> pl.DataFrame:
    """Write `letters` (content.LETTER_COLUMNS) to out_dir/0001.pdf, 0002.pdf, ... and return the rows of
    letters.parquet (LETTERS_PARQUET_COLUMNS), in print order.

    At most `letters_per_file` letters a file (docs/spec/outputs.md: at most 10,000), each starting on a new page,
    in print order (language, postal code, letter id). `workers` processes render files in parallel
    (default: the number of CPUs). `texts`: the sentences per language (default: the package's texts;
    see language.with_rule_texts). `on_file` is called with each file's RenderedFile as it completes.
    """
    options = dict(letters_per_file=letters_per_file, workers=workers, texts=texts, on_file=on_file)
    with LetterPress(zorgkassen, **options) as press:
        press.submit("", letters, out_dir)
        return press.rows("")


def _letter_rows(ordered: pl.DataFrame, done: dict[int, RenderedFile]) -> pl.DataFrame:
    """LETTERS_PARQUET_COLUMNS: each letter with its file, first page and page count."""
    files, firsts, pages = [], [], []
    for number in sorted(done):
        result = done[number]
        ends = result.starts[1:] + [result.pages + 1]
        files.extend([result.file] * len(result.starts))
        firsts.extend(result.starts)
        pages.extend(end - start for start, end in zip(result.starts, ends, strict=True))
    if len(firsts) != ordered.height:
        raise RuntimeError(f"the PDFs hold {len(firsts)} letters, the frame {ordered.height}")
    return ordered.select(
        "letter_id",
        "insz",
        "zorgkas",
        "kind",
        "subject",
        "language",
        pl.Series("file", files, dtype=pl.String),
        pl.Series("first_page", firsts, dtype=pl.Int32),
        pl.Series("pages", pages, dtype=pl.Int32),
        "address_missing",
        "structured_reference",
        pl.col("payment_due").alias("due_date"),
    )

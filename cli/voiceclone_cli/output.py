"""What the CLI prints: raw JSON for scripts, tables and progress bars for people, errors with hints.

On a terminal (and with rich installed: the `local` extra) tables and progress are drawn by rich;
piped or redirected, the same content is printed as plain aligned columns and one line per change,
so logs and `grep` keep working. rich is imported only when it draws something.

Everything printed passes through `escape`: names, messages and ids come from the API, that is
from other people (a tenant names its voices, a vendor writes its error messages), and a control
character or bidi override in them must not move, recolour, retitle or clear the reader's terminal.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

# Job statuses after which nothing changes by itself (CHECK_FAILED waits for new recordings).
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED", "CHECK_FAILED"}


# Format characters (Cf) that only join letters into one glyph (emoji sequences, Indic and Persian
# scripts): shown as they are. Every other Cf (bidi overrides and isolates, zero-width spaces, the
# BOM, soft hyphens) is escaped.
JOINERS = frozenset("\u200c\u200d")


def _unsafe(char: str) -> bool:
    """C0/C1 controls (ESC starts ANSI sequences), lone surrogates, line and paragraph separators,
    and format characters other than the joiners."""
    category = unicodedata.category(char)
    return category in ("Cc", "Cs", "Zl", "Zp") or (category == "Cf" and char not in JOINERS)


def _escaped(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escape(text: str) -> str:
    """`text` with each character that could drive a terminal written as an escape (ESC -> \\x1b)."""
    if text.isprintable():
        return text
    return "".join(_escaped(c) if _unsafe(c) else c for c in text)


def _json_text(data: Any) -> str:
    """Indented JSON whose strings keep their values, with unsafe characters as \\uXXXX escapes.

    json.dumps escapes C0 controls itself; C1 controls, bidi overrides and separators it writes raw.
    """
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if text.isprintable():
        return text
    return "".join(f"\\u{ord(c):04x}" if c != "\n" and _unsafe(c) else c for c in text)


def _interactive() -> bool:
    """Draw with rich: stdout is a terminal and rich is installed."""
    if not sys.stdout.isatty():
        return False
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return escape(json.dumps(value, ensure_ascii=False))
    return escape(str(value))


class Output:
    """One command's output. `as_json`: only the API's JSON goes to stdout."""

    def __init__(self, as_json: bool = False, interactive: bool | None = None) -> None:
        self.as_json = as_json
        self.interactive = _interactive() if interactive is None else interactive
        self._console: Any = None

    @property
    def console(self) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(highlight=False, soft_wrap=False)
        return self._console

    # stdout

    def json(self, data: Any) -> None:
        print(_json_text(data), flush=True)

    def line(self, text: str = "") -> None:
        """A line for people (nothing in --json mode, where stdout is the API's JSON alone)."""
        if not self.as_json:
            print(escape(text), flush=True)

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> None:
        if self.as_json:
            return
        cells = [[_cell(v) for v in row] for row in rows]
        if self.interactive:
            from rich.markup import escape as markup
            from rich.table import Table

            # rich reads "[...]" in a string as markup: what the API sent is text, never style.
            table = Table(
                title=markup(escape(title)) if title else None, header_style="bold", title_justify="left"
            )
            for column in columns:
                table.add_column(column, overflow="fold")
            for row in cells:
                table.add_row(*(markup(cell) for cell in row))
            self.console.print(table)
            return
        if title:
            self.line(title)
        widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
        for row in [list(columns), *cells]:
            self.line("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())

    def fields(self, pairs: Sequence[tuple[str, Any]]) -> None:
        """`key: value` lines (empty values left out)."""
        shown = [(k, _cell(v)) for k, v in pairs if v not in (None, "", [], {})]
        if not shown:
            return
        width = max(len(k) for k, _ in shown)
        for key, value in shown:
            self.line(f"{key + ':':<{width + 1}} {value}")

    # stderr

    def error(self, message: str, hint: str | None = None) -> None:
        print(f"error: {escape(message)}", file=sys.stderr, flush=True)
        if hint:
            print(f"hint: {escape(hint)}", file=sys.stderr, flush=True)

    def warn(self, message: str) -> None:
        print(f"warning: {escape(message)}", file=sys.stderr, flush=True)

    # progress

    @contextmanager
    def progress(self) -> Iterator[Progress]:
        if self.as_json:
            yield Progress(self, None)
            return
        if not self.interactive:
            yield Progress(self, None)
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as RichProgress

        bar = RichProgress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
        )
        with bar:
            yield Progress(self, bar)


class Progress:
    """Uploads, then checks (checks_done of checks_total), then training: a bar each on a terminal,
    a line per change otherwise."""

    def __init__(self, out: Output, bar: Any) -> None:
        self.out = out
        self.bar = bar
        self.tasks: dict[str, Any] = {}
        self.last = ""

    def _task(self, key: str, description: str, total: int | None, completed: int) -> None:
        from rich.markup import escape as markup

        description = markup(escape(description))  # it names the vendor, as the API sent it
        if key not in self.tasks:
            self.tasks[key] = self.bar.add_task(description, total=total, completed=completed)
        self.bar.update(self.tasks[key], description=description, total=total, completed=completed)

    def uploads(self, done: int, total: int) -> None:
        if self.bar is not None:
            self._task("upload", "uploading recordings", total, done)
        elif done == total and total:
            self.out.line(f"uploaded {done}/{total} recordings")

    def job(self, job: dict[str, Any]) -> None:
        status = job["status"]
        done, total = int(job.get("checks_done") or 0), int(job.get("checks_total") or 0)
        if status == "TRAINING":
            task = job.get("vendor_task_id")
            line = f"TRAINING at {job['vendor']}" + (f" (task {task})" if task else "")
        else:
            line = f"{status}: checks {done}/{total}"
        if self.bar is not None:
            self._task("checks", "checks" if status == "TRAINING" else f"checks ({status})", total, done)
            if status == "TRAINING":
                self._task("training", f"training at {job['vendor']}", None, 0)
            elif status == "SUCCEEDED" or "training" in self.tasks:
                self._task(
                    "training", f"training at {job['vendor']} ({status})", 1, int(status == "SUCCEEDED")
                )
        elif line != self.last:
            self.out.line(line)
        self.last = line

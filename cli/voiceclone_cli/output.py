"""What the CLI prints: raw JSON for scripts, tables and progress bars for people, errors with hints.

On a terminal (and with rich installed: the `local` extra) tables and progress are drawn by rich;
piped or redirected, the same content is printed as plain aligned columns and one line per change,
so logs and `grep` keep working. rich is imported only when it draws something.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

# Job statuses after which nothing changes by itself (CHECK_FAILED waits for new recordings).
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED", "CHECK_FAILED"}


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
        return json.dumps(value, ensure_ascii=False)
    return str(value)


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
        print(json.dumps(data, ensure_ascii=False, indent=2), flush=True)

    def line(self, text: str = "") -> None:
        """A line for people (nothing in --json mode, where stdout is the API's JSON alone)."""
        if not self.as_json:
            print(text, flush=True)

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> None:
        if self.as_json:
            return
        cells = [[_cell(v) for v in row] for row in rows]
        if self.interactive:
            from rich.table import Table

            table = Table(title=title, header_style="bold", title_justify="left")
            for column in columns:
                table.add_column(column, overflow="fold")
            for row in cells:
                table.add_row(*row)
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
        print(f"error: {message}", file=sys.stderr, flush=True)
        if hint:
            print(f"hint: {hint}", file=sys.stderr, flush=True)

    def warn(self, message: str) -> None:
        print(f"warning: {message}", file=sys.stderr, flush=True)

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

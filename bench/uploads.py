"""Scenario A-files: the chat's latency in scenario A while clients upload big files.

Three runs of scenario A's traffic (the C load generator), each on a fresh
GuiGui server (SQLite):

- without uploads: scenario A as it is;
- with uploads: the same, while ``uploaders`` more clients of the room
  (``bench/uploader.py``, one Python process each) upload files of
  ``file_size`` bytes to it in a loop, as fast as the server takes them, from
  just before the traffic starts until it ends (each then finishes the file in
  progress);
- with paced uploads: the same uploads at ``PACED_MIB`` MiB/s each, the pace
  of a person's upload over an office network, which leaves the machine's
  cores to the chat rather than to the uploaders' own processes.

The table puts the runs side by side: the chat's latency, the server's
CPU, and what the uploads achieved (files stored, MiB/s). ngIRCd has no files:
it is not part of this scenario.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

from bench.runs import TRAFFIC_ROWS, Result, Row, Scenario, count, number, run_fanout
from bench.servers import HOST, ROOT, Figures, LoadGen, guigui_server, running

PACED_MIB = 10.0
"""MiB/s of each uploader in the paced run (about 84 Mbit/s)."""
WITHOUT = "without uploads"
WITH = "with uploads"
PACED = f"with uploads at {PACED_MIB:g} MiB/s each"
COLUMNS = (WITHOUT, WITH, PACED)

UPLOAD_OPTIONS = ["--file-quota-mb", "1000000"]
"""Server options of both runs (the same, so that they differ only by the uploads).

The quota per user (500 MiB by default) is set out of the way, as the other
limits are: an uploader may store more than that during the run.
"""


class Uploader(LoadGen):
    """One ``bench.uploader`` process: READY once logged in, ``go``, ``stop``, then its JSON."""

    def __init__(
        self, port: int, login: str, size: int, directory: Path, rate_mib: float = 0.0
    ) -> None:
        self.name = f"uploader {login}"
        self.stderr = directory / f"{login}.stderr"
        command = [sys.executable, "-m", "bench.uploader", HOST, str(port), login, str(size)]
        with self.stderr.open("w") as stderr:
            self.process = subprocess.Popen(
                [*command, "--rate-mib", str(rate_mib)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=ROOT,
            )  # fmt: skip

    def stop(self) -> None:
        """Finish the file in progress and stop."""
        assert self.process.stdin is not None
        self.process.stdin.write("stop\n")
        self.process.stdin.flush()


class Uploads:
    """The uploaders of one run, as ``run_fanout``'s ``alongside``: started and stopped together."""

    def __init__(self, uploaders: list[Uploader]) -> None:
        self.uploaders = uploaders

    def start(self) -> None:
        """Every uploader begins its loop."""
        for uploader in self.uploaders:
            uploader.go()

    def stop(self) -> None:
        """Every uploader finishes its file in progress (``figures`` waits for that)."""
        for uploader in self.uploaders:
            uploader.stop()

    def figures(self) -> Figures:
        """Their figures together: files offered and stored, bytes, MiB/s, errors."""
        each = [uploader.figures() for uploader in self.uploaders]
        stored_bytes = sum(one["bytes"] for one in each)
        seconds = max(one["seconds"] for one in each)
        return {
            "files_offered": sum(one["offered"] for one in each),
            "files_stored": sum(one["stored"] for one in each),
            "upload_bytes": stored_bytes,
            "upload_seconds": seconds,
            "upload_mib_per_second": stored_bytes / 2**20 / seconds if seconds else 0.0,
            "upload_errors": [error for one in each for error in one["errors"]],
        }


def run_uploads(scenario: Scenario, directory: Path) -> Result:
    """Scenario A's traffic on a fresh server, then on others while clients upload."""
    result = Result(scenario, {}, None)
    with running(guigui_server(directory, "guigui-alone", options=UPLOAD_OPTIONS)) as server:
        result.guigui[WITHOUT] = run_fanout("guigui", server, scenario, directory)
    result.guigui[WITH] = run_with_uploads(scenario, directory, "guigui-uploads", 0.0)
    result.guigui[PACED] = run_with_uploads(scenario, directory, "guigui-paced", PACED_MIB)
    for run in (WITH, PACED):
        errors = result.guigui[run]["upload_errors"]
        if errors:
            result.notes.append(
                f"{scenario.name}, {run}: the uploads met {len(errors)} errors: {errors[:3]}"
            )
    return result


def run_with_uploads(scenario: Scenario, directory: Path, name: str, rate_mib: float) -> Figures:
    """Scenario A's traffic on a fresh server while the uploaders send files (0: full speed)."""
    with (
        running(guigui_server(directory, name, options=UPLOAD_OPTIONS)) as server,
        contextlib.ExitStack() as stack,
    ):
        uploaders = []
        for index in range(scenario.uploaders):
            login = f"uploader{index}"
            uploader = Uploader(server.port, login, scenario.file_size, directory, rate_mib)
            stack.callback(uploader.kill)
            uploaders.append(uploader)
        for uploader in uploaders:  # logged in before the load generator's clients come
            uploader.expect("READY")
        uploads = Uploads(uploaders)
        figures = run_fanout("guigui", server, scenario, directory, alongside=uploads)
        figures.update(uploads.figures())
        return figures


# ---- the table -----------------------------------------------------------------


def mebibytes(figures: Figures) -> str:
    """The bytes uploaded, in MiB ("n/a" in the run without uploads)."""
    if "upload_bytes" not in figures:
        return "n/a"
    return f"{figures['upload_bytes'] / 2**20:,.0f}"


UPLOAD_ROWS: list[Row] = [
    ("delivered / expected", count("deliveries", "expected"), None),
    ("stored / offered", count("stored", "offered"), None),
    ("clients closed by the server", number("closed", "d"), None),
    *TRAFFIC_ROWS,
    ("server CPU (% of a core)", number("server_cpu_percent", ".0f"), "server_cpu_percent"),
    ("server CPU µs / delivery", number("server_cpu_us_per_delivery", ".2f"),
     "server_cpu_us_per_delivery"),
    ("files stored / offered", count("files_stored", "files_offered"), None),
    ("MiB uploaded", mebibytes, None),
    ("uploaded MiB/s (all uploaders)", number("upload_mib_per_second", ",.1f"), None),
    ("load generator CPU (s)", number("loadgen_cpu_seconds", ".2f"), None),
]  # fmt: skip


def uploads_table(result: Result) -> str:
    """The runs side by side, and each with uploads over without where that says something."""
    runs = result.guigui
    lines = [
        f"| figure | {WITHOUT} | {WITH} | {PACED} | full speed / without | paced / without |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    alone = runs[WITHOUT]
    for label, show, key in UPLOAD_ROWS:
        ratios = []
        for run in (WITH, PACED):
            loaded = runs[run]
            fits = key and alone.get(key) and loaded.get(key) is not None
            ratios.append(f"{loaded[key] / alone[key]:.2f}" if fits else "")
        cells = [label, *(show(runs[run]) for run in COLUMNS), *ratios]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def uploads_report(result: Result, bcrypt_note: str) -> str:
    """Scenario A-files' section of the results: its table and notes."""
    scenario = result.scenario
    notes = [
        "GuiGui alone: ngIRCd has no files. Each run starts a fresh server (SQLite);"
        f" {bcrypt_note}",
        f"With uploads: {scenario.uploaders} more members of the room (`bench/uploader.py`,"
        " one Python process each, over the protocol of PROTOCOL.md section 7: FILE_OFFER,"
        " 32 KiB FILE_CHUNK frames, FILE_SEND, its OK, then the next file) upload files of"
        f" {scenario.file_size:,} bytes, each with its own content, from just before the"
        " traffic starts until it ends; each then finishes the file in progress. MiB/s is the"
        " bytes of the stored files over the time from the start to the last FILE_SEND's OK.",
        f"Paced: the same uploads at {PACED_MIB:g} MiB/s each at most (a person's upload over"
        " an office network). At full speed the uploaders' own processes, the server and the"
        " load generator want more than the machine's cores, so part of what the chat waits is"
        " for a core; paced, the machine has room and what remains is the server's share.",
        "Server CPU is read over the traffic only, as in the other scenarios: with uploads it"
        " includes receiving, hashing and storing the files.",
        *result.notes,
    ]
    return "\n\n".join(
        [
            f"## Files: {scenario.describe()}",
            uploads_table(result),
            "\n".join(f"- {note}" for note in notes),
        ]
    )

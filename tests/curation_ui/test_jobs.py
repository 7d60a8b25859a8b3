"""The app's long jobs as catalog rows: progress by heartbeat, an outcome, one at a time."""

from __future__ import annotations

import time

import pytest

from catalog.jobs import JobRunning, current_job, start_job
from core.contract import Progress
from core.errors import FacesiftError
from curation_ui import jobs
from curation_ui.jobs import AppJob, run_as_job
from tests.curation_ui.conftest import open_page


class Summary:
    def line(self) -> str:
        return "import: 3 kept"


def test_a_job_writes_its_progress_and_ends_with_its_summary_line(catalog, monkeypatch):
    monkeypatch.setattr(jobs, "BEAT_SECONDS", 0.01)
    seen = []

    def work(n, *, on_progress):
        on_progress(Progress("import", 2, n, "item", "2 kept, 0 refused"))
        deadline = time.monotonic() + 10
        while (row := current_job(catalog.conn, "import")).done != 2:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        seen.append(row)
        return Summary()

    assert isinstance(run_as_job(catalog, "import", "bo", "Importing", work, 5), Summary)
    assert (seen[0].state, seen[0].total, seen[0].detail) == (
        "running",
        5,
        "Importing: 2 kept, 0 refused (2 of 5)",
    )
    row = current_job(catalog.conn, "import")
    assert (row.state, row.detail, row.started_by) == ("done", "import: 3 kept", "bo")
    assert row.ended_at is not None


def test_a_failed_job_records_its_one_line_and_frees_its_kind(catalog):
    def work(*, on_progress):
        raise FacesiftError("bad\ninput")

    with pytest.raises(FacesiftError):
        run_as_job(catalog, "export", "bo", "Exporting", work)
    row = current_job(catalog.conn, "export")
    assert (row.state, row.detail) == ("failed", "bad\\ninput")
    with AppJob.start(catalog, "export", "al", "Exporting") as job:
        assert current_job(catalog.conn, "export").id == job.id


def test_a_second_job_of_a_kind_is_refused_before_its_work_starts(catalog):
    other = start_job(catalog.conn, "import", "al")
    with pytest.raises(JobRunning, match=rf"^import job {other.id} is already running"):
        run_as_job(catalog, "import", "bo", "Importing", pytest.fail)
    assert current_job(catalog.conn, "import").id == other.id


def test_the_export_page_refuses_a_second_export_in_one_line(app_env, tmp_path):
    running = start_job(app_env.cat.conn, "export", "al")  # another session's, say
    at = open_page("export")
    at.text_input(key="ex_out").input(str(tmp_path / "out"))
    at.button(key="ex_go").click().run()
    assert not at.exception and not at.success
    [error] = [e.value for e in at.error]
    assert error.startswith(f"export job {running.id} is already running (started by al at ")
    assert not (tmp_path / "out").exists()

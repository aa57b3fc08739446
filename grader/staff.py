"""The staff-only files of one student's folder, written beside the student's report.

    OUT/<student>/instructor.html   every case in full, hidden ones included (grader.render.instructor)
    OUT/<student>/instructor.json   the same data, for scripts
    OUT/<student>/work.html         the student's notebook/module/write-up as graded (their own work:
                                    not secret, linked from their report and the review page)

`batch.write_student` calls `write_staff` when a submission has just been graded: the hidden-case
details live only in memory (`Result.staff`), so a resumed student keeps the files of the run
that graded them. Nothing here is ever copied into the kit or Gradescope's output.
"""
from __future__ import annotations

from pathlib import Path

from .files import write_atomic
from .results import Result


def write_staff(folder: Path, result: Result, report_name: str = "report.html", source: Path | None = None,
                env=None, pages: bool = True, durable: bool = True) -> list[str]:
    """Write the instructor-only JSON of `result` into the student's `folder` and, with `pages`
    (`[reports] staff_pages`), the instructor-only view and (given the submission's `source` path)
    the view of the work as graded; return the names written. `env`: the templates' environment
    (grader.render.html.environment) the caller keeps; `durable`: fsync each file (grader.files).

    The JSON is always written: the copying evidence (grader.copying) reads its wrong-answer digests.
    The pages cost more than grading itself (~30 ms a notebook), hence the setting.
    """
    from .render import instructor, notebook

    views = instructor.case_views(result)      # made once for the JSON and the page
    write_atomic(folder / instructor.INSTRUCTOR_JSON, instructor.instructor_json(result, views, env=env),
                 durable=durable)
    if not pages:
        return [instructor.INSTRUCTOR_JSON]
    work = None
    if source is not None:
        write_atomic(folder / notebook.WORK_HTML, notebook.work_page(source, result, env=env), durable=durable)
        work = notebook.WORK_HTML
    write_atomic(folder / instructor.INSTRUCTOR_HTML, instructor.instructor_html(result, report_href=report_name,
                                                                                 work_href=work, env=env, views=views),
                 durable=durable)
    return [name for name in (work, instructor.INSTRUCTOR_JSON, instructor.INSTRUCTOR_HTML) if name]

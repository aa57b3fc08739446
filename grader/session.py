"""A grading session: one configuration, one case set, and a pool of warm sandboxed workers.

`grader grade`, `grader check`, `grader batch` and the Gradescope entry point all grade through
a Session, so every way of use runs the same code. Its workers are spawned at once (they warm up
while the cases are built) and reused, so the interpreter start-up (the expensive part) is paid
once per worker, not per submission.
"""
from __future__ import annotations

import queue
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .config import Config
from .results import Problem, Result, SubmissionStatus
from .heap import bound_heap, collecting_only_new_objects
from .runner import Worker, run_program
from .sandbox import SandboxUnavailable, font_list
from .spec import PUBLIC, CaseSet
from .text import clean

if TYPE_CHECKING:
    from .load import Program
    from .pipeline import Extras
    from .runner import CallSpec, RunReport, Sink


class Session:
    def __init__(self, config: Config, visibility: str = "all", workers: int = 1,
                 case_set: CaseSet | None = None, extras: Extras | None = None):
        bound_heap()          # answers stream through this process: what it frees goes back
        self.config = config
        self.visibility = visibility
        self._idle: "queue.Queue[Worker]" = queue.Queue()
        self._all: list[Worker] = []
        self._private = config.private_packages()     # hidden from the sandbox, as the registry declares
        # matplotlib's font list for the zygotes: made now only for several workers (a batch)
        self._fonts = font_list(make=workers > 1)
        self.imports: list[str] | None = None
        # Every worker is spawned at once: each warms up in its own process (~0.2 s) while the
        # cases are built here, instead of the second one starting when the first is done.
        for slot in range(max(1, workers)):
            self._idle.put(self._new_worker(slot))
        try:
            # The heavy modules (numpy, the assignment and its reference answers) are imported
            # only now, while the workers warm up: this module imports none of them.
            from . import caseset, environment

            if case_set is None:
                assignment = config.load_assignment()
                case_set = caseset.build(assignment, None if visibility == PUBLIC else config.secret)
            self.case_set = case_set.only(PUBLIC) if visibility == PUBLIC else case_set
            self.extras = extras if extras is not None else default_extras(config.environment)
            # The self-check imports only what the graded environment has (see runner.run_program).
            self.imports = environment.allowed_modules(config.environment) if visibility == PUBLIC else None
        except BaseException:
            self.close()          # a bad assignment or secret: no worker is left running
            raise

    def _new_worker(self, slot: int) -> Worker:
        worker = Worker(slot=slot, level=self.config.isolation, limits=self.config.limits,
                        private=self._private, fonts=self._fonts)
        self._all.append(worker)
        worker.spawn()
        return worker

    def grade(self, path: str | Path, name: str | None = None) -> Result:
        from . import pipeline

        try:
            with collecting_only_new_objects():       # a long-lived caller's objects are not walked
                result = pipeline.grade(path, self.case_set, self.run, name=name, visibility=self.visibility,
                                        extras=self.extras)
        except SandboxUnavailable:
            raise                 # the required sandbox cannot be had here: no submission can be graded
        except Exception as exc:  # noqa: BLE001 - a grader fault must cost one result, not the batch
            result = internal_error(Path(path), name, self.case_set, self.visibility, exc)
        if self.config.demo_secret and self.visibility != PUBLIC:
            result.problems.insert(0, _demo_problem())
        return result

    def run(self, program: "Program", calls: list["CallSpec"], sink: "Sink | None" = None) -> "RunReport":
        """Run one program on an idle worker, handing each answer to `sink` as it is settled.

        Each answer is judged as it arrives (the student process computes the next one
        meanwhile), so its arrays are dropped at once. The worker is free again as soon as the
        run is over: the score and the report are made afterwards, while the worker already runs
        another submission (a batch has more grading threads than workers for this).
        """
        worker = self._idle.get()
        try:
            if worker.alive:
                worker.wait_ready()
            else:
                worker.start()
            return run_program(worker, program, calls, sink, self.imports)
        except SandboxUnavailable:
            raise
        except Exception:
            worker.close()        # its state is unknown: the next submission gets a fresh one
            raise
        finally:
            self._idle.put(worker)

    def close(self) -> None:
        """Stop every worker for good. A batch stopped early may still have threads inside `run`:
        they get retired workers, which refuse to start again, so nothing outlives the session."""
        for worker in self._all:
            worker.retire()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def internal_error(path: Path, name: str | None, case_set: CaseSet, visibility: str, exc: Exception) -> Result:
    """The result for a submission that made the grader itself fail: zero, and saying so plainly."""
    result = Result(submission=clean(name or path.name, 200), status=SubmissionStatus.ERROR, score=0.0,
                    max_score=case_set.assignment.max_score,
                    assignment=case_set.assignment.name, grader_version=__version__, case_set=case_set.digest,
                    visibility=visibility)
    result.problems.append(Problem("internal-error", f"the grader failed on this submission "
                                                     f"({type(exc).__name__}: {str(exc)[:300]}); "
                                                     "please report it — nothing was graded"))
    from .pipeline import unrun

    result.questions = unrun(case_set, "not run: the grader failed on this submission")
    from .written import unanswered

    result.written = unanswered(case_set.assignment)     # out of the same maximum as everyone
    return result


def _demo_problem() -> Problem:
    return Problem("demo-secret", "hidden cases were drawn from the repository's DEMO secret; set GRADER_SECRET "
                                  "(or secret_file in grader.toml) before grading for real")


def default_extras(environment: tuple[str, ...] | None = None) -> "Extras":
    """Written answers: collected for a person (`written.collect`), and read from prose (`written.parse_written`)."""
    from . import written
    from .pipeline import Extras

    return Extras(parse_written=written.parse_written, collect_written=written.collect, environment=environment)

"""The command line: thin wrappers around Session, the renderers and the batch/packaging helpers.

Exit codes (documented in the README):
  0  graded (grade, batch), or every public case passes (check); built (build-kit, build-autograder);
     gradescope always (it writes a results.json whatever happens)
  1  check: some public case fails
  2  usage or configuration error (also: a bad --manual-scores file, after the batch is written;
     a kit or autograder that cannot be built, e.g. with the demo secret)
  3  the submission could not be read at all (a result saying why is still written)
  4  the required sandbox is not available here
"""
from __future__ import annotations

import argparse
import os
import sys

from . import __version__
from .config import ConfigError, load_config
from .files import write_atomic
from .results import PASSED, UNREADABLE, Result, json_text
from .render import terminal

# The sandbox and the sandboxed session are imported by the commands that grade, not here: `grader
# check` must start on macOS and Windows, where the sandbox's modules (fcntl, ...) do not exist.

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREADABLE, EXIT_SANDBOX = 0, 1, 2, 3, 4


def result_json(result: Result) -> str:
    return json_text(result.to_dict())


def _config(args):
    config = load_config(args.config)
    if args.require_sandbox:
        from dataclasses import replace
        config = replace(config, isolation="bwrap")
    return config


def cmd_grade(args) -> int:
    from .session import Session

    config = _config(args)
    with Session(config) as session:
        result = session.grade(args.submission)
    print(terminal.table(result))
    if args.json:
        write_atomic(args.json, result_json(result))
    if args.html:
        from .render import html
        write_atomic(args.html, html.report(result))
    return EXIT_UNREADABLE if result.status == UNREADABLE else EXIT_OK


def cmd_check(args) -> int:
    """Student self-check: public cases, run portably (grader.portable), never in the sandbox."""
    from pathlib import Path

    from . import caseset, i18n, selfcheck
    from .render import selfcheck_view

    config = _config(args)
    lang = i18n.choose(args.lang or os.environ.get("GRADER_LANG"), selfcheck.course_lang(config, args.cases))
    tr = i18n.translations(lang)
    if not Path(args.submission).exists():
        print(f"grader: {i18n.translate_message(f'{args.submission} does not exist', tr)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        # The registry's public cases; in the student kit (no registry) the bundled public_cases.json.
        cases = selfcheck.select(caseset.for_self_check(config, args.cases), args.questions)
    except (caseset.CaseFileError, selfcheck.UnknownQuestion) as exc:
        print(f"grader: {i18n.translate_message(str(exc), tr)}", file=sys.stderr)
        return EXIT_USAGE
    if args.require_sandbox:
        # An instructor checking someone else's code: in the sandbox, as `grade` would run it.
        from .session import Session

        with Session(config, visibility="public", case_set=cases) as session:
            result = session.grade(args.submission)
    else:
        result = selfcheck.check_file(args.submission, cases, config.limits)
    written = selfcheck.written_status(args.submission, cases.assignment) if (
        result.status != UNREADABLE and not args.questions and args.submission.endswith(".ipynb")) else []
    print(selfcheck_view.text(result, written, args.submission, lang=lang))
    if args.html:
        write_atomic(args.html, selfcheck_view.page(result, written, args.submission, lang=lang))
    if args.json:
        write_atomic(args.json, result_json(result))
    if result.status == UNREADABLE:
        return EXIT_UNREADABLE
    all_pass = all(c.status == PASSED for q in result.questions for c in q.cases)
    return EXIT_OK if all_pass else EXIT_FAILED


def cmd_batch(args) -> int:
    """Grade a folder of submissions into a folder of reports (logic: grader.batch)."""
    from . import batch
    from .manual import ManualScoresError

    config = _config(args)
    try:
        report = batch.run_batch(args.folder, args.out, config, workers=args.workers, force=args.force,
                                 manual_scores=args.manual_scores)
    except batch.BatchError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ManualScoresError as exc:
        print(f"grader: {exc}\ngrader: every submission is graded and written to {args.out}, without TA scores; "
              "fix the scores file and run the same command again (graded submissions are not re-run)",
              file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        # Everything already written is complete (atomic files); a re-run resumes. Exit at once
        # rather than wait for the submissions in progress, which are graded again next time.
        print(f"grader: interrupted; the reports written so far are in {args.out}; run the same command "
              "again to resume", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    print(batch.describe(report, args.out))
    return EXIT_OK


def cmd_build_kit(args) -> int:
    """Build the student kit (logic: grader.kit)."""
    from . import kit

    try:
        public = kit.build_kit(args.out, _config(args))
    except kit.KitError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"student kit written to {args.out}: {sum(1 for c in public.cases if not c.parent)} public cases of "
          f"{len(public.assignment.questions)} questions (cases {public.digest}); no reference, no hidden cases")
    return EXIT_OK


def cmd_build_autograder(args) -> int:
    """Build the Gradescope autograder zip (logic: grader.gradescope)."""
    from . import gradescope

    try:
        names = gradescope.build_autograder(args.out, _config(args), allow_demo_secret=args.allow_demo_secret)
    except gradescope.GradescopeError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"Gradescope autograder written to {args.out} ({len(names)} files). It holds the hidden-case "
          "secret: upload it to Gradescope, do not share it.")
    return EXIT_OK


def cmd_gradescope(args) -> int:
    """Inside Gradescope: grade the submission and write results.json (logic: grader.gradescope)."""
    from . import gradescope

    gradescope.run(config_path=args.config)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description="Autograder for numerical homework (HW3: RNNs).")
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="grader.toml to read (default: $GRADER_CONFIG or ./grader.toml)")
    common.add_argument("--require-sandbox", action="store_true",
                        help="refuse to grade unless the full bubblewrap sandbox is available")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("grade", parents=[common], help="grade one submission on public and hidden cases")
    p.add_argument("submission", help="a .ipynb, .py, .md/.txt file, or a folder holding one")
    p.add_argument("--json", help="write the result as JSON to this file")
    p.add_argument("--html", help="write a self-contained HTML report to this file")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("check", parents=[common], help="student self-check: public cases only, on any platform; "
                                                        "runs the code unsandboxed (your own code) unless "
                                                        "--require-sandbox")
    p.add_argument("submission")
    p.add_argument("questions", nargs="*", metavar="QUESTION", help="check only these questions (e.g. 1a 2b)")
    p.add_argument("--lang", help="language of the feedback, e.g. en or zh_CN (default: $GRADER_LANG, the course's "
                                  "setting, then your locale)")
    p.add_argument("--json", help="write the result as JSON to this file")
    p.add_argument("--html", help="write the self-check as an HTML page to this file")
    p.add_argument("--cases", help="a public_cases.json to check against (default: the assignment's public "
                                   "cases, or the student kit's bundled file)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("batch", parents=[common], help="grade a folder of submissions (one file or folder each)")
    p.add_argument("folder", help="the submissions: one file or one folder per student")
    p.add_argument("--out", required=True, help="the folder for the reports, grades.csv and summary.html")
    p.add_argument("--workers", type=int, default=None, help="submissions graded at once (default: all cores)")
    p.add_argument("--force", action="store_true", help="re-grade submissions that were already graded")
    p.add_argument("--manual-scores", help="a CSV of TA scores for the written parts, merged into the results")
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("build-kit", parents=[common], help="build the student kit (template, self-check, "
                                                            "public cases; no reference, no hidden cases)")
    p.add_argument("out", help="the folder to create")
    p.set_defaults(func=cmd_build_kit)

    p = sub.add_parser("build-autograder", parents=[common], help="build the Gradescope autograder zip")
    p.add_argument("out", help="the .zip file to write (it holds the hidden-case secret: keep it private)")
    p.add_argument("--allow-demo-secret", action="store_true",
                   help="build even with the repository's demo secret (for a trial run only)")
    p.set_defaults(func=cmd_build_autograder)

    p = sub.add_parser("gradescope", parents=[common],
                       help="inside Gradescope (run by run_autograder): grade $AUTOGRADER_ROOT/submission")
    p.set_defaults(func=cmd_gradescope)
    return parser


def single_threaded_blas() -> None:
    """One BLAS thread for the grader's own numpy (set before numpy is first imported).

    The trusted side only ever multiplies tiny matrices; a BLAS thread pool cannot speed that up,
    and its threads spin on the cores that the sandboxed workers need (measured: 40 ms of CPU for
    the import alone). An explicit setting in the environment is kept.
    """
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")


def main(argv: list[str] | None = None) -> int:
    single_threaded_blas()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"grader: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. `grader grade x | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return EXIT_OK
    except Exception as exc:
        # SandboxUnavailable, looked up only if the sandbox was imported at all (else it cannot be that).
        sandbox = sys.modules.get(f"{__package__}.sandbox")
        if sandbox is None or not isinstance(exc, sandbox.SandboxUnavailable):
            raise
        print(f"grader: {exc}", file=sys.stderr)
        return EXIT_SANDBOX
    except KeyboardInterrupt:
        print("grader: interrupted", file=sys.stderr)
        return 130

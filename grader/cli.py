"""The command line: thin wrappers around Session, the renderers and the batch/packaging helpers.

Exit codes (documented in the README):
  0  graded (grade, batch), or every public case passes (check); built (build-kit, build-autograder);
     the configuration is valid (config); written (export, diff, merge); gradescope always (it writes a
     results.json whatever happens)
  1  check: some public case fails
  2  usage or configuration error (also: a bad --manual-scores file, after the batch is written;
     a kit or autograder that cannot be built, e.g. with the demo secret; a download, roster, batch
     output or shards that cannot be read)
  3  the submission could not be read at all (a result saying why is still written)
  4  the required sandbox is not available here
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import sys

from . import __version__
from .config import ConfigError, load_config
from .files import write_atomic, write_bytes_atomic
from .results import NOTEBOOK, PASSED, UNREADABLE, Result, json_text
from .render import terminal

# The sandbox and the sandboxed session are imported by the commands that grade, not here: `grader
# check` must start on macOS and Windows, where the sandbox's modules (fcntl, ...) do not exist.

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREADABLE, EXIT_SANDBOX = 0, 1, 2, 3, 4


def result_json(result: Result) -> str:
    return json_text(result.to_dict())


def _config(args):
    config = load_config(args.config)
    if getattr(args, "require_sandbox", False):
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
    if args.instructor_html:          # staff only: the hidden cases in full (a regrade request)
        from .render import instructor
        write_atomic(args.instructor_html, instructor.instructor_html(result, report_href=None))
    return EXIT_UNREADABLE if result.status == UNREADABLE else EXIT_OK


def cmd_check(args) -> int:
    """Student self-check: public cases, run portably (grader.portable), never in the sandbox."""
    from pathlib import Path

    from . import caseset, i18n, selfcheck
    from .render import selfcheck_view

    config = _config(args)
    wanted = args.lang or os.environ.get("GRADER_LANG")
    lang = i18n.choose(wanted, selfcheck.course_lang(config, args.cases))
    if wanted and i18n.normalise(wanted) is None:
        print(f"grader: there is no feedback in {wanted!r}; English is used (available: "
              f"{', '.join(i18n.available())})", file=sys.stderr)
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
        result = selfcheck.check_file(args.submission, cases, config.limits, config.environment)
    written = selfcheck.written_status(args.submission, cases.assignment) if (
        result.status != UNREADABLE and not args.questions and result.kind == NOTEBOOK) else []
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
                                 manual_scores=args.manual_scores, roster=args.roster, shard=args.shard)
    except batch.BatchError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ManualScoresError as exc:
        print(f"grader: {exc}\ngrader: every submission is graded and written to {args.out}, without these TA scores "
              "(scores kept from an earlier merge, if any, still apply); fix the scores file and run the same "
              "command again (graded submissions are not re-run)", file=sys.stderr)
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


def cmd_similarity(args) -> int:
    """Look for copying across a batch's output folder again (logic: grader.copying)."""
    from pathlib import Path

    from . import copying

    config = load_config(args.config)
    out = Path(args.out)
    if not out.is_dir():
        print(f"grader: {out} is not a batch output folder", file=sys.stderr)
        return EXIT_USAGE
    entries = copying.entries_in(out)
    if not entries.at_least(2):            # without reading the whole class for a count
        print(f"grader: {out} holds fewer than two graded students (run `grader batch` first)", file=sys.stderr)
        return EXIT_USAGE
    chosen = args.template or config.similarity_template
    template = copying.template_of(Path(chosen) if chosen else copying.default_template())
    assignment = next((e.result.assignment for e in entries if e.result.assignment), "")
    pairs = copying.write_similarity(out, entries, template, config.similarity, assignment)
    print(copying.describe(pairs, out))
    return EXIT_OK


def cmd_export(args) -> int:
    """Write a batch's gradebook for an LMS or a spreadsheet (logic: grader.export)."""
    from . import export

    try:
        if args.format in export.ZIP_FORMATS:
            data, warnings = export.export_zip(args.out, args.format)
        else:
            text, warnings = export.export(args.out, args.format, args.assignment, args.decimals)
    except export.ExportError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for warning in warnings:
        print(f"grader: warning: {warning}", file=sys.stderr)
    if args.format in export.ZIP_FORMATS:
        if args.output == "-":
            sys.stdout.buffer.write(data)
            return EXIT_OK
        target = args.output or os.path.join(args.out, f"{args.format}.zip")
        write_bytes_atomic(target, data)
        print(f"{args.format} written to {target}")
        return EXIT_OK
    if args.format == "canvas":
        note = export.column_note(next(csv.reader(io.StringIO(text)))[-1])
        if note:
            print(f"grader: note: {note}", file=sys.stderr)
    if args.output == "-":
        sys.stdout.write(text)
        return EXIT_OK
    target = args.output or os.path.join(args.out, f"gradebook-{args.format}.{'json' if args.format == 'json' else 'csv'}")
    write_atomic(target, text)
    print(f"gradebook ({args.format}) written to {target}")
    return EXIT_OK


def cmd_diff(args) -> int:
    """What changed between two runs, and why it may have (logic: grader.diff)."""
    from . import diff

    try:
        result = diff.compare(diff.load_results(args.old), diff.load_results(args.new), args.old, args.new)
    except ValueError as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(diff.table(result))
    csv_path, page_path = diff.write(result, args.out or args.new)
    print(f"written: {csv_path}  {page_path}")
    return EXIT_OK


def cmd_merge(args) -> int:
    """One class view from the outputs of sharded batches (logic: grader.merge)."""
    from . import caseset, diff, merge
    from .roster import RosterError, read_roster

    config = _config(args)
    try:
        class_list = read_roster(args.roster) if args.roster else None
        done = merge.merge(args.shards, args.out, caseset.build(config.load_assignment(), config.secret), class_list)
    except (merge.MergeError, RosterError) as exc:
        print(f"grader: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"{len(done.results)} students from {done.shards} shards merged into {args.out}"
          + (f"; {len(done.missing)} with no submission" if done.missing else ""))
    if done.changed:
        print(f"{diff.changed_totals(done.changed)} since the last run (grader diff shows how)")
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


def _positive_int(text: str) -> int:
    """argparse type for a count: a usage error (exit 2) for 0, negatives and non-numbers."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def cmd_config(args) -> int:
    """Check the configuration (exit 2 naming a bad key); with --show, print every key, value and help."""
    from dataclasses import replace

    from .config import show

    config = load_config(args.config)
    config.load_assignment()          # the registry imports, and [written] names its parts
    if args.show:
        registry = replace(config, written_points={}).load_assignment()
        print(show(config, {w.id: w.points for w in registry.written}))
    else:
        secret = "the DEMO secret (not for real grades)" if config.demo_secret else f"from {config.secret_source}"
        print(f"configuration OK ({config.source}); secret: {secret}; `grader config --show` prints every setting")
    return EXIT_OK


def export_formats() -> tuple[str, ...]:
    """`grader export`'s layouts, as grader.export lists them."""
    from .export import FORMATS

    return FORMATS


def build_parser() -> argparse.ArgumentParser:
    """Each command offers only the options that mean something for it, each with its help."""
    parser = argparse.ArgumentParser(prog="grader", description="A sandboxed autograder for numerical homework.")
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    config = argparse.ArgumentParser(add_help=False)
    config.add_argument("--config", metavar="FILE",
                        help="the grader.toml to read (default: $GRADER_CONFIG, else ./grader.toml if present)")
    sandboxed = argparse.ArgumentParser(add_help=False)   # for the commands that run student code
    sandboxed.add_argument("--require-sandbox", action="store_true",
                           help="refuse to grade (exit 4) unless the full bubblewrap sandbox is available")
    common = [config, sandboxed]
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("grade", parents=common, help="grade one submission on public and hidden cases")
    p.add_argument("submission", help="a .ipynb, .py, .md/.txt file, or a folder holding one")
    p.add_argument("--json", metavar="FILE", help="write the result as JSON to this file")
    p.add_argument("--html", metavar="FILE", help="write a self-contained HTML report to this file")
    p.add_argument("--instructor-html", metavar="FILE",
                   help="write the instructor-only view (hidden cases in full) to this file")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("check", parents=common, help="student self-check: public cases only, on any platform; "
                                                     "runs the code unsandboxed (your own code) unless "
                                                     "--require-sandbox")
    p.add_argument("submission", help="your .ipynb or .py file (or a folder holding it)")
    p.add_argument("questions", nargs="*", metavar="QUESTION", help="check only these questions (e.g. 1a 2b)")
    p.add_argument("--lang", help="language of the feedback, e.g. en or zh_CN (default: $GRADER_LANG, the course's "
                                  "setting, then your locale)")
    p.add_argument("--json", metavar="FILE", help="write the result as JSON to this file")
    p.add_argument("--html", metavar="FILE", help="write the self-check as an HTML page to this file")
    p.add_argument("--cases", metavar="FILE", help="a public_cases.json to check against (default: the assignment's public "
                                   "cases, or the student kit's bundled file)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("batch", parents=common, help="grade a folder of submissions (one file or folder each), "
                                                     "or an LMS bulk download (Canvas, Gradescope, Moodle, nbgrader)")
    p.add_argument("folder", help="the submissions: one file or folder per student, or an LMS download (.zip or "
                                  "its folder)")
    p.add_argument("--out", required=True, metavar="DIR", help="the folder for the reports, grades.csv and summary.html")
    p.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                   help="submissions graded at once (default: [grader] workers, else all cores)")
    p.add_argument("--force", action="store_true", help="re-grade submissions that were already graded")
    p.add_argument("--manual-scores", metavar="CSV", help="a CSV of TA scores for the written parts, merged into the results")
    p.add_argument("--roster", metavar="CSV",
                   help="the class list: a Canvas gradebook export or an id,name,email,section CSV")
    p.add_argument("--shard", metavar="K/N",
                   help="grade only the K-th of N deterministic slices (merge them with `grader merge`)")
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("similarity", parents=[config], help="look for copying across a graded class (instructors only)")
    p.add_argument("out", help="the output folder of `grader batch`")
    p.add_argument("--template", help="the blank template handed out (its code and text are not evidence; "
                                      "default: [similarity] template, or the checkout's template)")
    p.set_defaults(func=cmd_similarity)

    p = sub.add_parser("export", help="write a batch's gradebook: an LMS's import file (Canvas, Moodle, "
                                      "Blackboard, Brightspace), plain CSV or JSON")
    p.add_argument("out", help="the batch's output folder (it holds results.json)")
    p.add_argument("--format", default="csv", choices=export_formats(), help="the layout (default csv)")
    p.add_argument("--assignment", help="the assignment column's name (Canvas: 'HW3 (12345)' updates that "
                                        "assignment; Blackboard: 'HW3 [Total Pts: 100 Score] |12345', its "
                                        "column's header; Brightspace: the grade item's name)")
    p.add_argument("--decimals", type=int, default=2, help="round scores to this many decimals (default 2)")
    p.add_argument("--output", metavar="FILE",
                   help="the file to write (default OUT/gradebook-FORMAT.csv, OUT/moodle-feedback.zip; '-' for "
                        "standard output)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("diff", help="what changed between two batch outputs, per student and question, and why")
    p.add_argument("old", help="the earlier batch output (or one of its kept runs, OUT/_runs/<time>)")
    p.add_argument("new", help="the later batch output")
    p.add_argument("--out", metavar="DIR", help="where to write diff.csv and diff.html (default: NEW)")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("merge", parents=[config], help="one class view from the outputs of `batch --shard K/N`")
    p.add_argument("shards", nargs="+", help="the shards' output folders")
    p.add_argument("--out", required=True, metavar="DIR", help="the folder for the merged reports and class files")
    p.add_argument("--roster", metavar="CSV", help="the class list, to list the students missing from every shard")
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("build-kit", parents=[config], help="build the student kit (template, self-check, "
                                                            "public cases; no reference, no hidden cases)")
    p.add_argument("out", help="the folder to create")
    p.set_defaults(func=cmd_build_kit)

    p = sub.add_parser("build-autograder", parents=[config], help="build the Gradescope autograder zip")
    p.add_argument("out", help="the .zip file to write (it holds the hidden-case secret: keep it private)")
    p.add_argument("--require-sandbox", action="store_true",
                   help="write isolation = \"bwrap\" into the packaged grader.toml: on Gradescope, refuse to grade "
                        "without bubblewrap")
    p.add_argument("--allow-demo-secret", action="store_true",
                   help="build even with the repository's demo secret (for a trial run only)")
    p.set_defaults(func=cmd_build_autograder)

    p = sub.add_parser("gradescope", parents=[config],
                       help="inside Gradescope (run by run_autograder): grade $AUTOGRADER_ROOT/submission "
                            "(the sandbox requirement is the packaged grader.toml's isolation)")
    p.set_defaults(func=cmd_gradescope)

    p = sub.add_parser("config", parents=[config], help="check the configuration (exit 2 naming a bad key)")
    p.add_argument("--show", action="store_true", help="print every key with its value, default and meaning")
    p.set_defaults(func=cmd_config)
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
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "func", None) is cmd_check and not any(a.startswith("-") for a in extra):
        args.questions = list(args.questions) + extra      # `check hw3.ipynb --lang zh_CN 1a`: 1a after an option
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
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

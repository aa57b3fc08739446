"""The job protocol: every message between the grader and a process that runs a submission.

One JSON object per line, built and recognised here and nowhere else:
  grader -> zygote (stdin):  run_message   {"op": "run", "job", "program", "skip", "imports", "limits"}
                             cases_message {"op": "cases", "job", "batch", "case_seconds", "cases"}
                                           (relayed to the job's child unparsed: see `is_cases`)
                             kill_message  {"op": "kill", "job", "token"}     QUIT {"op": "quit"}
  child  -> grader:          {"ev": "cell", ...} {"ev": "loaded", ...} {"ev": "case", ...} {"ev": "done", "batch"}
  zygote -> grader:          {"ev": "ready", ...} {"ev": "exit", "job", "status"} {"ev": "clean", "job", "token"}
                             {"ev": "internal", "job", "error"}
The self-check's child (`portable_child.py`) speaks the same events without the "job" field.

It also holds the sandbox's half of the answer kinds (`ENCODERS`): how what a student returned
becomes plain data of the question's kind, with the size limits the grader's half
(`grader.kinds`) checks again on the way back.

Why a module of its own, stdlib only (numpy is imported where arrays are coded): the sandboxed
worker and the self-check's child are standalone scripts that must not import the grader package
(it knows expected values). They load this one file from beside themselves,
before any student code exists (as `_grader_jobwire`, never through sys.path: the worker starts with
`-P`, which keeps the script's directory off it, where the grader's other modules sit, and on Python
3.10 takes it off itself); `grader.sandbox` binds it
into the sandbox next to the worker.
Nothing here is secret: student code that finds it learns only the wire format it already sees.
"""
from __future__ import annotations

import binascii
import enum
import json
import math

SEPARATORS = (", ", ": ")       # every line is written with these (json.dumps's defaults, stated)
# One encoder for every line: json.dumps builds a new one per call when given any option, and a
# job writes ~500 lines (base64 goes through binascii directly for the same reason: ~2,500 arrays
# a submission cross the wire, and base64's wrappers were a third of their coding).
_ENCODER = json.JSONEncoder(separators=SEPARATORS, allow_nan=True)


class Op(str, enum.Enum):
    """What the grader asks of the zygote."""

    RUN = "run"
    CASES = "cases"
    KILL = "kill"
    QUIT = "quit"


class Ev(str, enum.Enum):
    """What the zygote and the job's child report. Only CLEAN with the grader's token is trusted."""

    READY = "ready"
    CELL = "cell"
    LOADED = "loaded"
    CASE = "case"
    DONE = "done"
    EXIT = "exit"
    CLEAN = "clean"
    INTERNAL = "internal"


class RunStatus(str, enum.Enum):
    """What became of one call or cell, as the run reports it, before anyone judges it.

    The child reports the first five in its events (`CASE_STATUSES`; a cell only OK, ERROR or
    TIMEOUT: `CELL_STATUSES`); the grader's side concludes the last two when the process could not
    report: it died (CRASHED), or the submission's time ran out before the call (NOT_RUN).
    Judging maps them onto `grader.results.CaseStatus`.
    """

    OK = "ok"
    ERROR = "error"
    UNCONVERTIBLE = "unconvertible"     # returned something that is not an answer of the case's kind
    MISSING = "missing"                 # the name is not defined
    TIMEOUT = "timeout"
    CRASHED = "crashed"
    NOT_RUN = "not-run"


# Tuples, not sets: `in` compares with ==, so a forged status that is a list or a dict is simply
# not one of them (a set would raise TypeError on it).
CASE_STATUSES = (RunStatus.OK, RunStatus.ERROR, RunStatus.UNCONVERTIBLE, RunStatus.MISSING, RunStatus.TIMEOUT)
CELL_STATUSES = (RunStatus.OK, RunStatus.ERROR, RunStatus.TIMEOUT)

START = "start"                 # the `phase` of a cell or case event sent before running it


def dumps(message: dict) -> str:
    """One protocol line's JSON text (no newline); NaN and infinities as Python writes them."""
    return _ENCODER.encode(message)


def _plain(message: dict) -> dict:
    """Enum members as their values, so that the text never depends on how json sees a str enum."""
    return {k: v.value if isinstance(v, enum.Enum) else v for k, v in message.items()}


# ------------------------------------------------------------------------------------------------
# Grader -> zygote

CASES_PREFIX = dumps({"op": Op.CASES.value})[:-1].encode()   # how every case batch begins: b'{"op": "cases"'
QUIT = dumps({"op": Op.QUIT.value})


def run_message(job: int, program: dict, skip: list[int], imports: list[str] | None, limits: dict) -> str:
    return dumps({"op": Op.RUN.value, "job": job, "program": program, "skip": sorted(skip), "imports": imports,
                  "limits": limits})


def case_wire(uid: str, name: str, call: bool, kind: str, keys: list[str], args: list) -> str:
    """One case as it travels inside a batch, encoded once (a session sends it to every submission)."""
    return dumps({"uid": uid, "name": name, "call": call, "kind": kind, "keys": list(keys),
                  "args": encode_args(list(args))})


def cases_message(job: int, batch: str, case_seconds: float, wires: list[str]) -> str:
    """A batch of cases, spliced from their ready-made `case_wire` texts (encoding a batch's arrays
    again per submission cost milliseconds). Always begins with CASES_PREFIX."""
    head = dumps({"op": Op.CASES.value, "job": job, "batch": batch, "case_seconds": case_seconds})
    return head[:-1] + ', "cases": [' + ", ".join(wires) + "]}"


def kill_message(job: int, token: str) -> str:
    return dumps({"op": Op.KILL.value, "job": job, "token": token})


def is_cases(line: bytes) -> bool:
    """Whether a line from the grader is a case batch: the zygote relays those unparsed (they are
    the long messages, and only the grader writes on this pipe, always through `cases_message`)."""
    return line.startswith(CASES_PREFIX)


def parse_message(line: bytes | str) -> dict | None:
    """A message from the grader as a dict with an `op`, or None for anything else."""
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return message if isinstance(message, dict) and isinstance(message.get("op"), str) else None


# ------------------------------------------------------------------------------------------------
# Zygote and child -> grader


def event(ev: Ev, job: int | None = None, **fields) -> dict:
    """An event as a dict: "ev" first, then "job" when there is one (the self-check has none)."""
    message = {"ev": ev.value}
    if job is not None:
        message["job"] = job
    message.update(_plain(fields))
    return message


def event_line(message: dict, fresh_line: bool = False, plain: bool = False) -> bytes:
    """An event's bytes on the pipe. `fresh_line` starts it on a line of its own, so that a half line
    left by a killed child cannot swallow it (the zygote's own events). `plain`: the caller made
    every value plain already (`event` did, and no enum was added since): a case's answer, ~270 a
    job, then skips a second pass over its fields."""
    return (("\n" if fresh_line else "") + dumps(message if plain else _plain(message)) + "\n").encode()


def case_start_line(job: int, uid: str) -> bytes:
    """`event_line(event(Ev.CASE, job, uid=uid, phase=START))`, byte for byte, without building and
    encoding a dict: a job sends one before each of its ~250 calls."""
    return b'{"ev": "case", "job": %d, "uid": %s, "phase": "start"}\n' % (job, _ENCODER.encode(uid).encode())


def case_event(job: int, uid: str) -> dict:
    """`event(Ev.CASE, job, uid=uid)` for a uid the grader sent (a str), made directly: a job starts
    one for each of its ~270 calls' answers."""
    return {"ev": "case", "job": job, "uid": uid}


def job_needles(job: int) -> tuple[bytes, bytes]:
    """Byte strings one of which every event line of `job` contains (see `dumps`): a reader skips
    a flood of forged lines for other jobs with a substring search each, not a JSON parse."""
    return (b'"job": %d,' % job, b'"job": %d}' % job)


def parse_event(line: bytes | str) -> dict | None:
    """An event line as a dict, or None when it is not a JSON object (garbage written by student code)."""
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return message if isinstance(message, dict) else None


# ------------------------------------------------------------------------------------------------
# Case arguments: tagged float64 arrays both ways


def encode_args(value):
    """Plain data for case arguments (grader side): arrays become tagged base64 float64."""
    import numpy as np

    if isinstance(value, np.ndarray):
        plain = np.ascontiguousarray(value, dtype="<f8")
        return {"__ndarray__": _b64(plain.tobytes()), "shape": list(plain.shape)}
    if isinstance(value, dict):
        return {str(k): encode_args(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_args(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _b64(data: bytes) -> str:
    """base64.b64encode(data).decode(), without its wrapper."""
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def decode_args(value):
    """Rebuild case arguments (sandbox side): tagged arrays become fresh C-contiguous float64 arrays.

    Called for every case of every job (~1,200 arrays a submission) on what `json.loads` made, so
    the exact types are tried first, numpy is looked up once, and a list or dict is walked in one
    comprehension; anything else goes the general way, with the same result."""
    kind = type(value)
    if kind is list:
        return [decode_args(v) for v in value]
    if kind is dict:
        if "__ndarray__" in value:
            return _decode_array(value)
        return {k: decode_args(v) for k, v in value.items()}
    if isinstance(value, dict) and "__ndarray__" in value:
        return _decode_array(value)
    if isinstance(value, dict):
        return {k: decode_args(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_args(v) for v in value]
    return value


_NUMPY: list = []           # numpy, once `_numpy` has imported it


def _numpy():
    """numpy, imported on first use (the grader's side may never need it) and then only looked up."""
    if not _NUMPY:
        import numpy as np

        _NUMPY.append(np)
    return _NUMPY[0]


def _decode_array(value: dict):
    return _fresh(_sent_array(value))


def _sent_array(value: dict):
    """A tagged array as it was sent: a read-only view of its decoded bytes (nothing can change it)."""
    return _numpy().frombuffer(binascii.a2b_base64(value["__ndarray__"]), dtype="<f8").reshape(value["shape"])


def _fresh(sent):
    """What a call receives: a writable, C-contiguous float64 copy of its own."""
    return sent.astype(_numpy().float64, order="C")


def call_arguments(wire) -> tuple[list, list]:
    """A call's arguments decoded (`decode_args`), and what `snapshot` would have copied from them:
    the arrays as sent, read-only views of their decoded bytes, beside the fresh copies the call gets.

    Decoding already makes each array twice (the bytes' view, then the call's copy): keeping the
    first saves the copy per array (~1,300 a job) that `snapshot` made to tell afterwards whether
    the call changed its arguments. An argument that cannot be decoded raises as `decode_args` does."""
    if type(wire) is not list:
        args = decode_args(wire)
        return args, snapshot(args)
    args, sent = [], []
    for value in wire:
        if type(value) is dict and "__ndarray__" in value:
            original = _sent_array(value)
            args.append(_fresh(original))
            sent.append(original)
        elif type(value) is dict:
            arg, originals = {}, {}
            for key, item in value.items():
                if type(item) is dict and "__ndarray__" in item:
                    originals[key] = _sent_array(item)
                    arg[key] = _fresh(originals[key])
                else:
                    arg[key] = decode_args(item)
            args.append(arg)
            sent.append(originals)
        else:
            args.append(decode_args(value))
            sent.append(None)
    return args, sent


# ------------------------------------------------------------------------------------------------
# Answers: the sandbox's half of each answer kind (the grader's half is grader.kinds)

MAX_ELEMENTS = 5_000_000      # an answer larger than this is not an answer to this homework
MAX_DIMS = 8                  # the most dimensions an answer array may declare
ANSWER_BYTES = 8 * 2**20      # one answer's float64 bytes, unless the job's limits say otherwise
LABEL_CHARS = 200             # a label answer is cut to this
NAMES = 100                   # a name set answer has at most this many names...
NAME_CHARS = 50               # ...each cut to this
MAX_TEXT = 2000               # characters of any message the child reports


def short(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe(exc: BaseException) -> str:
    """`Type: message`, even for exceptions whose __str__ or class name misbehave (student code
    defines both)."""
    try:
        name = str(type.__getattribute__(type(exc), "__name__"))
    except BaseException:  # noqa: BLE001 - student classes can do anything
        name = "Exception"
    try:
        text = str(exc)
    except BaseException:  # noqa: BLE001
        try:
            text = BaseException.__str__(exc)
        except BaseException:  # noqa: BLE001
            text = "(the message could not be shown)"
    return f"{name}: {text}"


def place(line: int | None, function: str, label: str) -> str:
    """Where in the student's code an error happened, in their words: "line 7 in `f` (cell 4)".
    One wording for the sandboxed run and the self-check, so that both say the same."""
    where = f"line {line}" if line else "a line"
    if function and function not in ("<module>", "<cell line: 0>"):
        where += f" in `{function}`"
    return where + (f" ({label})" if label else "")


def error_message(where: str, summary: str, text: str) -> str:
    """An error as a case or a cell reports it: the place, the error, and the line's text below."""
    return short(f"{where}: {summary}" + (f"\n    {text}" if text else ""))


def too_large(size: float, limit: float) -> str:
    """How an answer over the size limit is worded, on both sides of the sandbox."""
    return f"answer too large: {size / 2**20:.3g} MB, limit {limit / 2**20:.3g} MB"


class Unconvertible(Exception):
    """The returned object is not an answer of the expected kind; the message says why."""


class TooLarge(Unconvertible):
    """More numbers than an answer may have (the grader refuses such an answer too, whatever the
    sandbox says)."""

    def __init__(self, size: int, limit: int):
        super().__init__(too_large(size, limit))
        self.size = size


def encode_array(obj, limit: int = ANSWER_BYTES) -> dict:
    """Plain data for one array, refused before any copy when it has more than `limit` bytes.

    A complex array's imaginary parts go along (`imag_b64`) when any is non-zero: the grader judges
    them against the case's tolerance (eig's rounding leaves ~1e-16 behind); this side decides nothing.
    """
    np = _numpy()

    if obj is None:
        # numpy turns None into NaN: a function without `return` would read as an array of shape (1,)
        raise Unconvertible(NO_RETURN)
    try:
        arr = np.asarray(obj)
    except Exception as exc:  # noqa: BLE001 - student objects can raise anything
        raise Unconvertible(_not_one_array(obj) or
                            f"cannot be turned into an array ({type(exc).__name__}: {short(str(exc), 300)})")
    if arr.dtype.kind == "O" and arr.size <= MAX_ELEMENTS:
        _refuse_objects(obj, arr)
    imag = None
    if arr.dtype.kind == "c":
        if np.any(arr.imag != 0):
            imag = arr.imag
        arr = arr.real
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(np.float64)
        except Exception as exc:  # noqa: BLE001
            raise Unconvertible(
                f"returned values of type {arr.dtype} that are not numbers "
                f"({type(exc).__name__}: {short(str(exc), 300)})")
    if 8 * arr.size > limit:
        raise TooLarge(8 * arr.size, limit)
    if arr.size > MAX_ELEMENTS:
        raise Unconvertible(f"returned {arr.size} numbers; that is far too many for this answer")
    plain = np.ascontiguousarray(arr, dtype="<f8").reshape(arr.shape)     # a scalar stays a scalar, shape ()
    encoded = {"shape": list(plain.shape), "b64": _b64(plain.tobytes())}
    if imag is not None:
        encoded["imag_b64"] = _b64(np.ascontiguousarray(imag, dtype="<f8").tobytes())
    return encoded


NO_RETURN = ("returned None: the function ends without `return <answer>` (printing the answer, or storing it "
             "in a variable, does not return it)")
NO_VALUE = "`{name}` is still None: assign your answer to it (the template's `{name} = None` is still there)"
VALUE_IS_FUNCTION = "`{name}` is a function; it must be a value: assign the result to `{name}` (`{name} = ...`)"
ONE_STRING = "returned one string ({text}); expected a set of names: a string is one name, not a set of its letters"


def read_value(name: str, target):
    """A graded value (a constant the student defines, not a function): refused when it is still the
    template's None, in those words (NO_RETURN speaks of a function)."""
    if target is None:
        raise Unconvertible(NO_VALUE.format(name=name))
    if callable(target):                    # a function or a class: no array, list or set is callable
        raise Unconvertible(VALUE_IS_FUNCTION.format(name=name))    # never called: say so, not "returned `function`"
    return target


def _kind_of(obj) -> str:
    """"ndarray (2, 2)", "dict", "float": what one returned item is, in a few words."""
    shape = getattr(obj, "shape", None)
    name = type(obj).__name__
    return f"{name} {tuple(shape)}" if isinstance(shape, tuple) else name


def _not_one_array(obj) -> str:
    """Why a returned tuple or list is not one array (items of different shapes or kinds): "" when
    it is not a tuple or list."""
    if not isinstance(obj, (tuple, list)) or not obj:
        return ""
    kinds = ", ".join(_kind_of(item) for item in obj[:4]) + (", …" if len(obj) > 4 else "")
    return (f"returned a {type(obj).__name__} of {len(obj)} items ({kinds}), which is not one array: return the "
            "answer alone (not with a cache or other values)")


def _refuse_objects(obj, arr) -> None:
    """An array of Python objects is an answer only when every item is a number: numpy would turn
    None into NaN and fail on the rest with a message about `float()`; say what came back."""
    import numpy as np

    if arr.ndim == 0:
        item = arr.item()
        if isinstance(item, (int, float, complex)):
            return
        name = type(item).__name__
        hint = ""
        if hasattr(item, "__next__") or name == "generator":
            hint = ": build the array from it (`np.array(list(...))`)"
        elif callable(getattr(item, "numpy", None)):
            hint = ": it has a `.numpy()` method; return what that returns"
        raise Unconvertible(f"returned `{name}`, not an array of numbers{hint}")
    if any(item is None for item in arr.flat):
        index = next(i for i, item in enumerate(arr.flat) if item is None)
        where = tuple(int(i) for i in np.unravel_index(index, arr.shape))
        raise Unconvertible(f"returned an array that holds None (first at index {where}): a value was never "
                            "computed, or a helper function ends without `return`")
    message = _not_one_array(obj)
    if message and not all(isinstance(item, (int, float, complex)) or getattr(item, "shape", None) == ()
                           for item in arr.flat):
        raise Unconvertible(message)


def call_hint(target, exc: BaseException) -> str:
    """A sentence on why a call failed before reaching the student's own code, or "": an array passed
    to a function wrapped in `functools.lru_cache`/`cache`, which hashes its arguments. Looks only at
    types, so no student code runs."""
    if (type(exc) is TypeError and type(target).__name__ == "_lru_cache_wrapper"
            and "unhashable" in BaseException.__str__(exc)):
        return ("the function is wrapped in functools.lru_cache (or cache), which needs hashable arguments, "
                "and arrays are not: remove the decorator")
    return ""


def snapshot(args: list) -> list:
    """Copies of a call's array arguments (and of the arrays in a dict argument), to tell afterwards
    whether the call changed them: the contract forbids it, and the student is told."""
    np = _numpy()

    copies = []
    for arg in args:
        if type(arg) is np.ndarray:
            copies.append(arg.copy())
        elif type(arg) is dict:
            copies.append({k: v.copy() for k, v in arg.items() if type(v) is np.ndarray})
        else:
            copies.append(None)
    return copies


def changed_arguments(target, args: list, before: list) -> list[str]:
    """The names of the arguments that the call changed in place (for a dict argument, a key added,
    removed, rebound or changed): the names of a plain function's parameters, else "argument N".
    Reads only the grader's own arrays and the function's code object: no student code runs."""
    np = _numpy()

    def same(now, then) -> bool:
        # Bit for bit the same is the same value; only otherwise is numpy's NaN-aware comparison
        # needed (-0.0 for 0.0, another NaN). array_equal alone cost more than the call itself:
        # ~30 us an argument, ~1,200 arguments a submission.
        return (type(now) is np.ndarray and now.shape == then.shape
                and ((now.dtype == then.dtype and now.tobytes() == then.tobytes())
                     or bool(np.array_equal(now, then, equal_nan=True))))

    changed = []
    for position, (arg, then) in enumerate(zip(args, before)):
        if then is None:
            continue
        if isinstance(then, dict):
            keys = list(arg.keys()) if type(arg) is dict else []
            ok = set(keys) == set(then) and all(same(arg[k], v) for k, v in then.items())
        else:
            ok = same(arg, then)
        if not ok:
            changed.append(position)
    if not changed:
        return []
    names: tuple = ()
    if type(target) is type(snapshot):          # a plain function (not a student object posing as one)
        code = target.__code__
        names = code.co_varnames[:code.co_argcount]
    return [str(names[i]) if i < len(names) else f"argument {i + 1}" for i in changed]


def array_bytes(encoded: dict) -> int:
    """The float64 bytes of an array encoded here (8 per number, twice for a complex one)."""
    return 8 * math.prod(encoded["shape"]) * (2 if "imag_b64" in encoded else 1)


def _encode_array_dict(obj, keys: list, limit: int) -> dict:
    if not hasattr(obj, "keys") or not hasattr(obj, "__getitem__"):
        raise Unconvertible(f"returned {type(obj).__name__}; expected a dict with keys {keys}")
    try:
        present = {k for k in obj.keys() if isinstance(k, str)}
    except Exception as exc:  # noqa: BLE001
        raise Unconvertible(f"its keys cannot be listed ({type(exc).__name__})")
    missing = [k for k in keys if k not in present]
    if missing:
        raise Unconvertible(f"the returned dict lacks the key(s) {missing}")
    encoded, used = {}, 0
    for k in keys:
        try:
            value = obj[k]
            if value is None:
                raise Unconvertible(f"[{k!r}] is None, not an array: that value was never computed or returned")
            encoded[k] = encode_array(value, limit - used)
        except TooLarge as exc:
            raise TooLarge(used + exc.size, limit) from None
        except Unconvertible as exc:
            text = str(exc)
            raise Unconvertible(text if text.startswith("[") else f"[{k!r}] {text}") from None
        used += 8 * math.prod(encoded[k]["shape"])
    return encoded


def _encode_label(obj, keys: list, limit: int) -> str:
    if not isinstance(obj, str):
        raise Unconvertible(f"returned {type(obj).__name__}; expected a string")
    return str.__str__(obj)[:LABEL_CHARS]


def _encode_name_set(obj, keys: list, limit: int) -> list:
    if isinstance(obj, str):                 # "fio" or "f, i, o": one name, not the set it spells
        raise Unconvertible(ONE_STRING.format(text=repr(str.__str__(obj)[:NAME_CHARS])))
    if not isinstance(obj, (set, frozenset, list, tuple)):
        raise Unconvertible(f"returned {type(obj).__name__}; expected a set of names")
    items = list(obj)
    if len(items) > NAMES or not all(isinstance(x, str) for x in items):
        raise Unconvertible("expected a set of strings (names)")
    return sorted({str.__str__(x)[:NAME_CHARS] for x in items})


# kind -> (returned object, the dict's keys, byte limit) -> plain data. A new kind is one entry
# here and one in grader.kinds.KINDS (tests/test_kinds.py checks that the two tables agree).
ENCODERS = {
    "array": lambda obj, keys, limit: encode_array(obj, limit),
    "array_dict": _encode_array_dict,
    "label": _encode_label,
    "name_set": _encode_name_set,
}


def encode_answer(kind: str, keys: list, obj, limit: int = ANSWER_BYTES):
    """Turn what the student returned into plain data of the question's kind, at most `limit`
    bytes of numbers in all (the grader would refuse more: it is not sent at all)."""
    encoder = ENCODERS.get(kind)
    if encoder is None:
        raise Unconvertible(f"unknown answer kind {kind}")
    if obj is None:                 # whatever the kind: the function ends without `return`
        raise Unconvertible(NO_RETURN)
    return encoder(obj, keys, limit)

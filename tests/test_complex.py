"""Complex answers, per the contract: real within the tolerance passes with a note; otherwise the
message names the largest imaginary part. The worker only transports both parts."""
from __future__ import annotations

import base64

import numpy as np
import pytest

from grader.compare import COMPLEX_NOTE, ComplexArray, compare_arrays, describe, matches
from grader.results import FAILED, PASSED
from grader.runner import BadValue, decode_array
from grader.spec import Tolerance

from conftest import SUBMISSIONS

CAROL = (SUBMISSIONS / "carol_module.py").read_text()
TOL = Tolerance(rtol=1e-6, atol=1e-9)


def _b64(values) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype="<f8").tobytes()).decode()


def test_rounding_noise_passes_with_a_note():
    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    got = ComplexArray(expected.copy(), np.full((2, 2), 1e-16))
    verdict = compare_arrays(expected, got, TOL)
    assert verdict.passed and verdict.message == COMPLEX_NOTE


def test_a_real_imaginary_part_fails_naming_the_largest():
    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    imag = np.array([[0.0, 1e-16], [-0.25, 0.01]])
    verdict = compare_arrays(expected, ComplexArray(expected.copy(), imag), TOL)
    assert verdict.status == FAILED
    assert verdict.message.startswith("The answer is complex: its largest imaginary part is -0.25 at index (1, 0)")
    assert not matches("array", expected, ComplexArray(expected.copy(), imag), TOL)
    assert matches("array", expected, ComplexArray(expected.copy(), np.zeros((2, 2)) + 1e-17), TOL)


def test_nan_imaginary_parts_and_wrong_shapes_fail():
    expected = np.ones(3)
    assert compare_arrays(expected, ComplexArray(np.ones(3), np.array([0, np.nan, 0.0])), TOL).status == FAILED
    assert "Wrong shape" in compare_arrays(expected, ComplexArray(np.ones(2), np.zeros(2)), TOL).message
    assert "complex" in describe("array", ComplexArray(np.ones(2), np.array([0.0, 0.5])))


def test_decode_checks_the_imaginary_part_like_the_real_one():
    real, imag = np.arange(4.0), np.full(4, 1e-17)
    value = decode_array({"shape": [2, 2], "b64": _b64(real), "imag_b64": _b64(imag)})
    assert isinstance(value, ComplexArray)
    assert type(value.imag) is np.ndarray and value.imag.dtype == np.float64 and value.imag.shape == (2, 2)
    for bad in (_b64(np.ones(3)), 7, "!!!!"):
        with pytest.raises(BadValue):
            decode_array({"shape": [2, 2], "b64": _b64(real), "imag_b64": bad})


def _module(tmp_path, power_body: str):
    path = tmp_path / "student.py"
    path.write_text(CAROL + "\n\ndef matrix_power_eig(M, p):\n" + power_body)
    return path


def test_eig_without_real_passes_every_case_with_a_note(session, tmp_path):
    body = ("    lam, Q = np.linalg.eig(M)\n"
            "    return Q @ np.diag(lam ** p) @ np.linalg.inv(Q)\n")
    result = session.grade(_module(tmp_path, body))
    q = next(q for q in result.questions if q.id == "2b")
    assert q.score == q.max_score, [c.message for c in q.cases if c.status != PASSED]
    assert any(c.message == COMPLEX_NOTE for c in q.cases)
    assert result.score == 100


def test_a_genuinely_complex_answer_fails_saying_why(public_session, tmp_path):
    body = ("    lam, Q = np.linalg.eig(M)\n"
            "    return (Q @ np.diag(lam ** p) @ np.linalg.inv(Q)) + 0.5j\n")
    result = public_session.grade(_module(tmp_path, body))
    q = next(q for q in result.questions if q.id == "2b")
    assert all(c.status == FAILED for c in q.cases)
    assert all("largest imaginary part is 0.5" in c.message for c in q.cases)

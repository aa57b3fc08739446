"""grader.arraytext: numpy's own text for the arrays reports show, character for character.

Reports describe ~150 arrays per student; `arraytext.array2string` does what numpy does for the
common arrays without numpy's per-call machinery. The promise is exact equality with
`numpy.array2string` (same options), so the property is checked on thousands of arrays of every
scale, sign and shape numpy lays out differently: positional and scientific notation, integers,
zeros and negative zeros, wrapped rows, single rows and columns, up to four axes, summarised or
not; and arrays it hands back to numpy (non-finite, other dtypes) give numpy's text too.
"""
from __future__ import annotations

import numpy as np
import pytest

from grader.arraytext import array2string


def numpy_text(a) -> str:
    return np.array2string(a, precision=6, threshold=64, max_line_width=90, suppress_small=False)


def _generators(rng):
    return [
        lambda s: rng.standard_normal(s),
        lambda s: rng.standard_normal(s) * 1e-5,               # scientific: too small
        lambda s: rng.standard_normal(s) * 1e7,                # positional, long integer parts
        lambda s: rng.standard_normal(s) * 1e9,                # scientific: too large
        lambda s: np.round(rng.standard_normal(s) * 10),       # whole numbers: "3."
        lambda s: rng.integers(-3, 3, s).astype(float),
        lambda s: rng.standard_normal(s) * 10.0 ** rng.integers(-9, 9, s),   # mixed scales
        lambda s: np.zeros(s),
        lambda s: -np.zeros(s),
        lambda s: np.round(rng.standard_normal(s), 2),
        lambda s: 1 / (1 + np.exp(-rng.standard_normal(s) * 30)),            # saturated sigmoids
        lambda s: np.where(rng.random(s) < 0.3, 0.0, rng.standard_normal(s) * 1e-3),
        lambda s: 2.0 ** rng.integers(-30, 40, s),
        lambda s: rng.standard_normal(s) * 1e3 + 0.5,
    ]


@pytest.mark.parametrize("seed", range(4))
def test_the_text_is_numpys_for_thousands_of_arrays(seed: int):
    rng = np.random.default_rng(seed)
    generators = _generators(rng)
    for trial in range(1500):
        axes = (1, 2, 2, 3, 4)[trial % 5]
        shape = tuple(int(rng.integers(1, (120, 14, 9, 6)[axes - 1])) for _ in range(axes))
        a = np.asarray(generators[trial % len(generators)](shape), dtype=float)
        assert array2string(a) == numpy_text(a), a.tolist()


@pytest.mark.parametrize("value", [
    [1.0], [-0.0], [0.5, 0.25, 0.125], [1e-4, 1.0], [1e-5, 1.0], [1.0, 1000.0], [1.0, 1000.1],
    [99999999.0], [100000000.0], [1e100, 1.0], [1e-100, -2.5], [0.1 + 0.2], [1 / 3, 2 / 3],
    [123456.7890123], [0.0000999999], [-1.5, 2.25, -3.125], [[1.0, 2.0], [3.0, 4.0]], [[0.1] * 11] * 8,
    [[1e-7, 2.0]], [[-1.0], [1.0]], list(range(65)), list(range(200)), [[0.5] * 7] * 7, [[[1.0] * 6] * 6] * 6,
    [[[[1.5] * 2] * 2] * 5] * 5, [[[[0.1] * 7] * 7] * 2] * 2,
])
def test_the_text_is_numpys_at_the_edges(value):
    a = np.asarray(value, dtype=float)
    assert array2string(a) == numpy_text(a)


@pytest.mark.parametrize("a", [
    np.array([1.0, np.nan, np.inf, -np.inf]),       # non-finite
    np.arange(6, dtype=np.float32),                  # another dtype
    np.array(2.5),                                   # no axis
    np.zeros((0, 3)),                                # empty
])
def test_other_arrays_are_left_to_numpy(a):
    assert array2string(a) == numpy_text(a)


def test_print_options_set_by_someone_else_are_respected():
    a = np.array([1.23456789, 2.0])
    with np.printoptions(floatmode="fixed"):
        assert array2string(a) == numpy_text(a)
    with np.printoptions(sign="+"):
        assert array2string(a) == numpy_text(a)
    with np.printoptions(edgeitems=1):
        b = np.arange(100.0)
        assert array2string(b) == numpy_text(b)

"""Comparator tricks: objects that claim equality, arrays that lie about themselves, values that
compare strangely.

Promise: the attacked question earns nothing (the trusted side turns every answer into a plain
float64 array, checks shape and finiteness first and never calls the student's methods), and
every other question is graded in full.
"""
from __future__ import annotations

from conftest import FULL, POINTS, assert_all_promises, module, with_function


def _grade(session, tmp_path, qid: str, body: str, allowed: float = 0.0):
    result = session.grade(module(tmp_path, with_function(qid, body)))
    assert_all_promises(result, session, tmp_path, attacked={qid: allowed})
    return result


def _messages(result, qid: str) -> str:
    question = next(q for q in result.questions if q.id == qid)
    return " ".join(c.message for c in question.public)


def test_object_whose_eq_is_always_true(attack_session, tmp_path):
    _grade(attack_session, tmp_path, "1a", '''
class Anything:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __array__(self, dtype=None, copy=None):
        import numpy as np
        return np.zeros((1,))
    def __len__(self): return 0
def sigmoid_jacobian(W, x):
    return Anything()
''')


def test_ndarray_subclass_overriding_array_function_ufunc_and_eq(attack_session, tmp_path):
    _grade(attack_session, tmp_path, "1b", '''
import numpy as np
class Liar(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(other), dtype=bool)
    def __ne__(self, other): return np.zeros(np.shape(other), dtype=bool)
    def __array_function__(self, func, types, args, kwargs): return True
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs): return np.zeros(())
    def __abs__(self): return np.zeros(())
def bptt_grad(W, U, xs, h0, gs):
    return np.full(W.shape, 7.0).view(Liar)
''')


def test_masked_array_hiding_wrong_values(attack_session, tmp_path):
    _grade(attack_session, tmp_path, "2a", '''
import numpy as np
def bptt_terms(W, U, xs, h0, gs):
    right = _correct_bptt_terms(W, U, xs, h0, gs)
    return np.ma.masked_array(right + 1.0, mask=np.ones(right.shape, dtype=bool))
''')


def test_nan_answers(attack_session, tmp_path):
    result = _grade(attack_session, tmp_path, "2b", '''
import numpy as np
def matrix_power_eig(M, p):
    return np.full(M.shape, np.nan)
''')
    assert "NaN" in _messages(result, "2b")


def test_inf_answers(attack_session, tmp_path):
    result = _grade(attack_session, tmp_path, "3c-cell", '''
import numpy as np
def lstm_cell_jacobian(params, x, c_prev, o_prev):
    right = _correct_lstm_cell_jacobian(params, x, c_prev, o_prev)
    right[0, 0] = np.inf
    return right
''')
    assert "inf" in _messages(result, "3c-cell")


def test_empty_and_broadcasting_arrays(attack_session, tmp_path):
    result = _grade(attack_session, tmp_path, "3c-carousel", '''
import numpy as np
_shapes = [(0,), (1, 1), (), (0, 0)]
_calls = [0]
def cell_state_gradient(fs):
    _calls[0] += 1
    value = _correct_cell_state_gradient(fs)
    shape = _shapes[_calls[0] % len(_shapes)]
    return np.broadcast_to(value.ravel()[:1], shape) if shape != () else value.ravel()[0]
''')
    assert "shape" in _messages(result, "3c-carousel").lower()


def test_returning_the_input_buffer_after_writing_into_it(attack_session, tmp_path):
    """Writing the right answer into an argument's buffer and returning another view of it; the
    worker returns a copy of whatever is returned, so only the values count (and they are wrong
    here: the view has the wrong shape)."""
    _grade(attack_session, tmp_path, "1a", '''
import numpy as np
def sigmoid_jacobian(W, x):
    right = _correct_sigmoid_jacobian(W, x)
    W[...] = right
    x[...] = 0
    return x
''')


def test_mutating_arguments_does_not_reach_other_cases(attack_session, tmp_path):
    """Arguments are fresh per call: scribbling on them changes nothing for later cases."""
    _grade(attack_session, tmp_path, "1b", '''
def bptt_grad(W, U, xs, h0, gs):
    right = _correct_bptt_grad(W, U, xs, h0, gs)
    for a in (W, U, xs, h0, gs):
        a[...] = 1e9
    return right
''', allowed=15.0)


def test_huge_array(attack_session, tmp_path):
    result = _grade(attack_session, tmp_path, "2a", '''
import numpy as np
def bptt_terms(W, U, xs, h0, gs):
    return np.zeros(50_000_000, dtype=np.float32)
''')
    assert "answer too large: 381 MB, limit 8 MB" in _messages(result, "2a")


def test_generator_instead_of_array(attack_session, tmp_path):
    _grade(attack_session, tmp_path, "2b", '''
def matrix_power_eig(M, p):
    return (v for v in _correct_matrix_power_eig(M, p).ravel())
''')


def test_dict_whose_values_change_on_every_access(attack_session, tmp_path):
    _grade(attack_session, tmp_path, "3-step", '''
import numpy as np
class Shifty(dict):
    def __eq__(self, other): return True
    def __getitem__(self, key):
        value = dict.__getitem__(self, key)
        return value + np.random.rand(*np.shape(value))
    def keys(self): return ["f", "i", "o", "c_tilde", "c", "h", "bogus"]
def lstm_step(params, x, h_prev, c_prev):
    return Shifty(_correct_lstm_step(params, x, h_prev, c_prev))
''')


def test_str_subclass_equal_to_every_label(attack_session, tmp_path):
    _grade(attack_session, tmp_path, "2c-regime", '''
class Chameleon(str):
    def __eq__(self, other): return True
    def __hash__(self): return 0
    def lower(self): return self
    def strip(self): return self
def gradient_regime(W):
    return Chameleon("none of them")
''')


def test_set_subclass_equal_to_every_set(attack_session, tmp_path):
    _grade(attack_session, tmp_path, "3b", '''
class Agreeable(frozenset):
    def __eq__(self, other): return True
    def __hash__(self): return 0
ALWAYS_POSITIVE = Agreeable({"h", "c"})
''')


def test_patching_the_workers_numpy_and_json(attack_session, tmp_path):
    """The student process can rewrite every library it shares with the worker's encoder; what
    comes out is still only a claim about its own answers (here it spoils all of them: every
    answer is encoded by the patched functions), judged on the trusted side."""
    result = attack_session.grade(module(tmp_path, with_function("1a", '''
import json, numpy as np
_real_asarray = np.asarray
np.asarray = lambda obj, *a, **k: _real_asarray(np.ones((3, 4)))
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
_real_dumps = json.dumps
json.dumps = lambda obj, *a, **k: _real_dumps(dict(obj, status="passed") if isinstance(obj, dict) and "uid" in obj else obj, *a, **k)
def sigmoid_jacobian(W, x):
    return W * 0 + 1
''')))
    assert_all_promises(result, attack_session, tmp_path, attacked={**POINTS, "1a": 0})
    assert result.score <= FULL - POINTS["1a"]


def test_exception_whose_str_and_name_misbehave(attack_session, tmp_path):
    _grade(attack_session, tmp_path, "2b", '''
class Meta(type):
    @property
    def __name__(cls):
        raise RuntimeError("no name")
class Weird(Exception, metaclass=Meta):
    def __str__(self):
        raise RuntimeError("no message")
def matrix_power_eig(M, p):
    raise Weird()
''')

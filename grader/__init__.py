"""An autograder for numerical homework: runs untrusted submissions in a sandbox and compares their
answers with reference implementations. See README.md for the shape of the package.

In a notebook, `import grader; grader.check("1a")` checks the functions defined in the kernel on
the public cases, and `grader.check_written()` the written parts of the saved notebook
(`grader.jupyter`; imported on first use, so that `import grader` stays light).
"""

__version__ = "0.2.0"

_JUPYTER = ("check", "check_written")


def __getattr__(name: str):
    if name in _JUPYTER:
        from . import jupyter

        return getattr(jupyter, name)
    raise AttributeError(f"module 'grader' has no attribute {name!r}")

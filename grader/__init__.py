"""An autograder for numerical homework: runs untrusted submissions in a sandbox and compares their
answers with reference implementations. See README.md for the shape of the package."""

__version__ = "0.1.0"

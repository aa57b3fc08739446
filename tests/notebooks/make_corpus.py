"""Writes the notebook corpus of tests/notebooks/ (run by hand; the files it writes are committed).

Each notebook is one way people really write and hand in notebooks (Colab, VS Code, executed
outputs, widgets, attachments, nbformat 3, magics, plots, `%%writefile`, `%run`), wrapped around a
solution whose plain-module form is written next to it (modules/; where it is carol's module
unchanged, `submissions/carol_module.py` is named instead of copied). `corpus.json` says, for each
notebook, the score it must get and which module must score the same; tests/test_notebook_corpus.py
grades both.

    python tests/notebooks/make_corpus.py
"""
from __future__ import annotations

import ast
import base64
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
CAROL = (HERE.parent.parent / "submissions" / "carol_module.py").read_text()
# A correct solution as students write it (loops, helpers, jupytext percent cells): its own twin.
STUDENT = (HERE / "modules" / "student_loops.py").read_text(encoding="utf-8")
# A 1×1 PNG: what an executed notebook's image outputs look like (their content is never read).
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5d6f5"
    "a10000000049454e44ae426082")).decode()


def chunks(source: str) -> list[str]:
    """The module cut where a student would cut it: the imports and helpers, then one cell per
    graded name (with the private helpers just above it)."""
    tree = ast.parse(source)
    lines = source.splitlines()
    cuts = [0]
    for node in tree.body:
        name = getattr(node, "name", None) or (node.targets[0].id if isinstance(node, ast.Assign)
                                                 and isinstance(node.targets[0], ast.Name) else "")
        if name and not name.startswith("_") and name[0].islower() or name == "ALWAYS_POSITIVE":
            start = node.lineno - 1 - len(getattr(node, "decorator_list", []))
            while start > 0 and lines[start - 1].startswith("#"):
                start -= 1
            if start > cuts[-1]:
                cuts.append(start)
    cuts.append(len(lines))
    return ["\n".join(lines[a:b]).strip() + "\n" for a, b in zip(cuts, cuts[1:]) if "\n".join(lines[a:b]).strip()]


def code(source: str, **extra) -> dict:
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}
    cell.update(extra)
    return cell


def markdown(source: str, **extra) -> dict:
    cell = {"cell_type": "markdown", "metadata": {}, "source": source}
    cell.update(extra)
    return cell


def v4(cells: list[dict], metadata: dict, minor: int = 5) -> dict:
    if minor >= 5:
        for number, cell in enumerate(cells):
            cell.setdefault("id", f"c{number:04d}")
    return {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": minor}


KERNEL = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
          "language_info": {"name": "python", "version": "3.11.4", "mimetype": "text/x-python",
                            "file_extension": ".py", "pygments_lexer": "ipython3",
                            "codemirror_mode": {"name": "ipython", "version": 3}, "nbconvert_exporter": "python"}}


def colab() -> dict:
    """Colab: drive mounting (no `google` package here), `!pip`, pyplot first, a plot loop."""
    parts = chunks(CAROL)
    cells = [markdown("# HW3 — RNNs\n<a href=\"https://colab.research.google.com/\">Open in Colab</a>",
                      metadata={"id": "view-in-github", "colab_type": "text"}),
             code("from google.colab import drive\ndrive.mount('/content/drive')",
                  metadata={"id": "mnt", "colab": {"base_uri": "https://localhost:8080/"}, "outputId": "a1"}),
             code("!pip install -q numpy scipy matplotlib", metadata={"id": "pip"}),
             code("%matplotlib inline\nimport numpy as np\nimport matplotlib.pyplot as plt\nnp.random.seed(0)",
                  metadata={"id": "imports"})]
    cells += [code(p, metadata={"id": f"sol{i}"}) for i, p in enumerate(parts)]
    cells.append(code(
        "norms = []\nfor T in range(1, 30):\n    xs = np.random.randn(T, 2); gs = np.random.randn(T, 3)\n"
        "    W = np.random.randn(3, 3); U = np.random.randn(3, 2)\n"
        "    norms.append(np.linalg.norm(bptt_grad(W, U, xs, np.zeros(3), gs)))\n"
        "    if T % 10 == 0:\n        plt.figure(figsize=(4, 3)); plt.semilogy(norms); plt.title(f'T={T}'); plt.show()\n"
        "plt.plot(norms)\nplt.xlabel('T'); plt.ylabel('|dL/dW|')\nplt.savefig('norms.png', dpi=80)",
        metadata={"id": "plots"}))
    metadata = {"colab": {"provenance": [], "name": "HW3.ipynb", "collapsed_sections": [], "gpuType": "T4"},
                "kernelspec": {"name": "python3", "display_name": "Python 3"},
                "language_info": {"name": "python"}, "accelerator": "GPU"}
    return v4(cells, metadata, minor=0)


def vscode() -> dict:
    """VS Code: the solution written to a module with %%writefile, then imported; autoreload."""
    cells = [markdown("# HW3"), code("%load_ext autoreload\n%autoreload 2"),
             code("%%writefile hw3_impl.py\n" + CAROL), code("from hw3_impl import *"),
             code("import hw3_impl\nprint(hw3_impl.bptt_grad.__doc__)")]
    metadata = dict(KERNEL, vscode={"interpreter": {"hash": "916dbcbb3f70747c44a77c7bcd40155683ae19c65e1c03b4aa3499c5328201f1"}})
    metadata["kernelspec"] = {"display_name": ".venv", "language": "python", "name": "python3"}
    return v4(cells, metadata)


def executed() -> dict:
    """Run and saved: execution counts, stream / result / image / error outputs, one scratch cell
    that really fails (it defines nothing graded)."""
    parts = chunks(CAROL)
    cells = []
    for number, part in enumerate(parts, 1):
        outputs = [{"output_type": "stream", "name": "stdout", "text": ["ok\n"]}] if number % 2 else []
        cells.append(code(part, execution_count=number, outputs=outputs))
    cells.append(code("W_30", execution_count=len(parts) + 1, outputs=[
        {"output_type": "execute_result", "execution_count": len(parts) + 1, "metadata": {},
         "data": {"text/plain": ["array([[0.0153, 0.0203],\n", "       [0.0203, 0.0271]])"]}}]))
    cells.append(code("import matplotlib.pyplot as plt\nplt.imshow(W_30)", execution_count=len(parts) + 2, outputs=[
        {"output_type": "display_data", "metadata": {"needs_background": "light"},
         "data": {"image/png": PNG, "text/plain": ["<Figure size 640x480 with 1 Axes>"]}}]))
    cells.append(code("bptt_grad(np.eye(2))", execution_count=len(parts) + 3, outputs=[
        {"output_type": "error", "ename": "TypeError",
         "evalue": "bptt_grad() missing 4 required positional arguments: 'U', 'xs', 'h0', and 'gs'",
         "traceback": ["\u001b[0;31m---------------------------------------------------------------------------\u001b[0m",
                       "\u001b[0;31mTypeError\u001b[0m: bptt_grad() missing 4 required positional arguments"]}]))
    return v4(cells, KERNEL, minor=4)


def widgets() -> dict:
    """An interactive explorer (ipywidgets is not in the graded environment): that cell fails alone."""
    parts = chunks(CAROL)
    cells = [code(p) for p in parts]
    cells.append(code("import ipywidgets as widgets\nfrom ipywidgets import interact\n\n@interact(T=(1, 50))\n"
                      "def explore(T=10):\n    print(T)", outputs=[
                          {"output_type": "display_data", "metadata": {},
                           "data": {"application/vnd.jupyter.widget-view+json":
                                    {"model_id": "0a1b", "version_major": 2, "version_minor": 0},
                                    "text/plain": ["interactive(children=(IntSlider(value=10),))"]}}]))
    metadata = dict(KERNEL, widgets={"application/vnd.jupyter.widget-state+json": {
        "state": {"0a1b": {"model_name": "IntSliderModel", "model_module": "@jupyter-widgets/controls",
                           "model_module_version": "2.0.0", "state": {"value": 10}}},
        "version_major": 2, "version_minor": 0}})
    return v4(cells, metadata)


def attachments() -> dict:
    """Markdown cells with pasted images (attachments) and written answers."""
    parts = chunks(CAROL)
    cells = [markdown("# HW3\n![diagram.png](attachment:diagram.png)",
                      attachments={"diagram.png": {"image/png": PNG}}),
             markdown("<!-- answer: 1a-derivation -->\nRow $i$: $\\sigma'(a_i) W_{ij}$; so $J = \\mathrm{diag}(\\sigma')W$.\n"
                      "![scan.png](attachment:scan.png)", attachments={"scan.png": {"image/png": PNG}})]
    cells += [code(p) for p in parts]
    return v4(cells, KERNEL)


def nbformat3() -> dict:
    """An old notebook (nbformat 3: worksheets, `input`, prompt numbers) starting with %pylab."""
    parts = ["%pylab inline"] + chunks(CAROL)
    cells = [{"cell_type": "heading", "level": 1, "metadata": {}, "source": "HW3"}]
    cells += [{"cell_type": "code", "collapsed": False, "input": p, "language": "python", "metadata": {},
               "outputs": [], "prompt_number": i} for i, p in enumerate(parts, 1)]
    cells[2]["outputs"] = [{"output_type": "display_data", "png": PNG, "metadata": {}}]
    return {"metadata": {"name": "", "signature": "sha256:0"}, "nbformat": 3, "nbformat_minor": 0,
            "worksheets": [{"cells": cells, "metadata": {}}]}


def magics() -> dict:
    """Everything a student sprinkles in while working: timing, help, directories, display, input."""
    parts = chunks(CAROL)
    cells = [code("import numpy as np\n%precision 4\n%config InlineBackend.figure_format = 'retina'"),
             code("np.linalg.eig?"), code("%cd .\n%pwd"), code("!ls -la\nfiles = !ls")]
    cells += [code(p) for p in parts]
    cells += [code("%time g = bptt_grad(np.eye(2), np.ones((2, 1)), np.ones((3, 1)), np.zeros(2), np.ones((3, 2)))"),
              code("%%timeit\nbptt_grad(np.eye(2), np.ones((2, 1)), np.ones((3, 1)), np.zeros(2), np.ones((3, 2)))"),
              code("%%capture out\nprint(W_30)"),
              code("from IPython.display import display, Markdown, Math\ndisplay(Markdown('**W30**'), Math('W^{30}'))"),
              code("%who\n%whos"),
              code("try:\n    answer = input('continue? ')\nexcept EOFError:\n    answer = 'y'")]
    return v4(cells, KERNEL)


EIG_POWER = '''def matrix_power_eig(M, p):
    """Q Λ^p Q^-1, straight from numpy.linalg.eig (complex when the eigenvalues are)."""
    lam, Q = np.linalg.eig(M)
    return Q @ np.diag(lam ** p) @ np.linalg.inv(Q)
'''

CLIPPED = '''def bptt_grad(W, U, xs, h0, gs):
    """BPTT as in training code: the gradient clipped at ±5 to keep it stable."""
    H, S = _rnn_states(W, U, xs, h0)
    T, n = xs.shape[0], W.shape[0]
    dA = np.zeros((T, n))
    back = np.zeros(n)
    for t in range(T - 1, -1, -1):
        dA[t] = (gs[t] + back) * S[t]
        back = W.T @ dA[t]
    return np.clip(np.einsum("ti,tj->ij", dA, H[:-1]), -5, 5)
'''


def with_override(extra: str) -> str:
    """The solution with one function replaced (defined again after it, as a notebook cell would)."""
    return CAROL + "\n\n" + extra


def complex_eig() -> dict:
    parts = chunks(CAROL) + [EIG_POWER, "W_30 = matrix_power_eig(np.array([[0.58, 0.24], [0.24, 0.72]]), 30)\n"]
    return v4([code(p) for p in parts], KERNEL)


def run_script() -> dict:
    helpers, rest = chunks(CAROL)[0], chunks(CAROL)[1:]
    cells = [code("%%writefile rnn_utils.py\n" + helpers), code("%run rnn_utils.py")] + [code(p) for p in rest]
    return v4(cells, KERNEL)


def clipping() -> dict:
    return v4([code(p) for p in chunks(CAROL)] + [code(CLIPPED)], KERNEL)


def student_habits() -> dict:
    """Everything a student leaves in a working notebook, around the loops solution's own cells:
    every %matplotlib, seaborn (not in the graded environment), %pip / !nvidia-smi, helpers written
    with %%writefile and %%writefile -a then imported, CRLF and tab indentation, %store / %who /
    %precision / %xmode / %%prun, display-only cell magics, input(), a torch import, non-ASCII
    names, `raise SystemExit`, `exit(0)`, the student's own passing asserts. Jupyter (nbclient)
    fails the same four cells, plus %matplotlib widget where ipympl is missing."""
    parts = [p.strip() + "\n" for p in STUDENT.split("# %%")[2:]]
    cells = [markdown("# HW3 — RNNs"),
             code("%matplotlib widget"), code("%matplotlib inline\n%config InlineBackend.figure_format = 'retina'"),
             code("%load_ext autoreload\n%autoreload 2"),
             code("import seaborn as sns\nsns.set_theme()"),
             code("%pip install numpy\n!nvidia-smi\n%env OMP_NUM_THREADS=1"),
             code("%%writefile rnn_helpers.py\n" + parts[0]),
             code("%%writefile -a rnn_helpers.py\n\ndef sigmoid_prime(z):\n    s = sigmoid(z)\n    return s * (1 - s)\n"),
             code("from rnn_helpers import *\nimport rnn_helpers")]
    cells += [code(p.replace("\n", "\r\n") if i == 1 else p.replace("    ", "\t") if i == 2 else p)
              for i, p in enumerate(parts[1:], 1)]
    cells += [code("Ts = range(1, 30)\nrng = np.random.default_rng(0)\nnorms = [np.linalg.norm(bptt_grad(np.eye(3) * 0.9, "
                   "np.ones((3, 2)), rng.normal(size=(T, 2)), np.zeros(3), rng.normal(size=(T, 3)))) for T in Ts]\n"
                   "plt.style.use('seaborn-v0_8')\nfig, ax = plt.subplots()\nax.semilogy(Ts, norms)\nfig.show()\n"
                   "plt.savefig('norms.png')\nplt.show()"),
              code("%store W_30\n%who\n%precision 3\n%xmode Minimal"),
              code("%%prun -q\nbptt_terms(np.eye(2), np.ones((2, 1)), np.ones((3, 1)), np.zeros(2), np.ones((3, 2)))"),
              code("%%html\n<b>done</b>"), code("%%latex\n$W^{30}$"),
              code("T = int(input('T? '))"),
              code("import torch\nW_t = torch.tensor(W_30)"),
              code("σ = sigmoid\nΔ = 1e-6\ndef 数值导数(f, x):\n    return (f(x + Δ) - f(x - Δ)) / (2 * Δ)\n"
                   "assert abs(数值导数(σ, 0.0) - 0.25) < 1e-6"),
              code("assert gradient_regime(np.eye(2) * 0.5) == 'vanishing'"),
              code("raise SystemExit('done')"), code("exit(0)")]
    metadata = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
                "language_info": {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                                  "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                                  "pygments_lexer": "ipython3", "version": "3.12.3"}}
    return v4(cells, metadata)


CORPUS = {
    # name: (notebook, plain module equivalent, score, cells that must fail)
    "colab_plots": (colab, CAROL, 100.0, ["google"]),
    "vscode_writefile": (vscode, CAROL, 100.0, []),
    "executed_outputs": (executed, CAROL, 100.0, ["TypeError"]),
    "widgets": (widgets, CAROL, 100.0, ["ipywidgets"]),
    "attachments": (attachments, CAROL, 100.0, []),
    "nbformat3_pylab": (nbformat3, CAROL, 100.0, []),
    "magics": (magics, CAROL, 100.0, []),
    "complex_eig": (complex_eig, with_override(EIG_POWER), 100.0, []),
    "run_script": (run_script, CAROL, 100.0, []),
    "clipping": (clipping, with_override(CLIPPED), None, []),
    "student_habits": (student_habits, STUDENT, 100.0, ["seaborn", "input()", "torch", "SystemExit"]),
}


def main() -> None:
    (HERE / "modules").mkdir(exist_ok=True)
    manifest = {}
    for name, (make, module, score, failing) in CORPUS.items():
        (HERE / f"{name}.ipynb").write_text(json.dumps(make(), indent=1, ensure_ascii=False) + "\n")
        if module == CAROL:         # the twin is carol's module itself: named, not copied
            twin = "../../submissions/carol_module.py"
        elif module == STUDENT:     # the loops solution is its own twin (a jupytext percent module)
            twin = "modules/student_loops.py"
        else:
            twin = f"modules/{name}.py"
            (HERE / twin).write_text(module)
        manifest[name] = {"notebook": f"{name}.ipynb", "module": twin, "score": score, "failing_cells": failing}
    (HERE / "corpus.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()

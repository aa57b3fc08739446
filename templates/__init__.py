"""The report templates, shipped inside the installed package as `grader.templates` (see pyproject.toml).

A regular package (not a namespace one) so that `importlib.resources.files` finds it on every
supported Python."""

"""Sphinx extension for the API reference chapter: each docstring is shown as written.

The package's docstrings are plain text meant for ``help()`` and editors: units, shapes and
small tables laid out with spaces, ``|x|`` for a magnitude. Read as reStructuredText they
would be mangled (and break the strict build), so the reference shows every docstring
verbatim as a literal block under the signature autodoc generates.
"""


def setup(app):
    app.connect("autodoc-process-docstring", _verbatim)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def _verbatim(app, what, name, obj, options, lines):
    if any(line.strip() for line in lines):
        lines[:] = ["::", ""] + [f"    {line}" if line else "" for line in lines] + [""]

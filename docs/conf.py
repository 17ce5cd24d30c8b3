"""Sphinx configuration for the wormsk documentation.

Build with ``make -C docs html`` (runs the gallery) or, without running the
examples, ``make -C docs html-noplot``. Warnings are errors in both (``-W``).
"""

import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Build against the checkout even when wormsk is not installed.
sys.path.insert(0, str(HERE.parent))

import wormsk  # noqa: E402

project = "wormsk"
author = "wormsk developers"
copyright = "wormsk developers"
version = release = wormsk.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
default_role = "literal"
# No intersphinx: builds must work offline, where fetching inventories would warn.

# autodoc / autosummary
autosummary_generate = True
autodoc_typehints = "none"  # numpydoc sections already give the types
add_module_names = False

# numpydoc: autosummary templates list methods themselves.
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_attributes_as_param_list = True

# sphinx-gallery. ``sphinx-build -D plot_gallery=0`` builds the pages without
# running the examples (the test suite runs them separately, with fast settings).
sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "plot_gallery": "True",
    "doc_module": ("wormsk",),
    "backreferences_dir": "gen_modules/backreferences",
    "reference_url": {"wormsk": None},
    "remove_config_comments": True,
    # Show DataFrames and printed output, not the reprs of matplotlib objects
    # (Text, Legend, Figure) that end many plotting cells.
    "ignore_repr_types": r"matplotlib\.",
    "min_reported_time": 1,
    "matplotlib_animations": False,
    "abort_on_example_error": True,
    "download_all_examples": False,
}


# Methods inherited from scikit-learn (get_params, set_output, set_fit_request,
# ...) are documented on every estimator page, but their docstrings point into
# scikit-learn's own documentation (:ref:, :term:), which an offline build cannot
# resolve. Render those references as plain text.
_SKLEARN_ROLE = re.compile(r":(?:ref|term|doc):`(?:([^`<]*?)\s*<[^`>]*>|([^`]*))`")


def _plain_sklearn_refs(app, what, name, obj, options, lines):
    module = getattr(obj, "__module__", None) or ""
    if module.split(".")[0] != "sklearn":
        return
    for i, line in enumerate(lines):
        lines[i] = _SKLEARN_ROLE.sub(lambda m: m.group(1) or m.group(2), line)


def setup(app):
    # Before numpydoc (priority 500) so it parses the cleaned text.
    app.connect("autodoc-process-docstring", _plain_sklearn_refs, priority=400)


def _write_cli_help() -> None:
    """Write ``wormsk <command> --help`` for the user guide to include.

    Generated at build time so the documented options can never drift from the
    command's parser.
    """
    import argparse

    from wormsk.cli import build_parser

    parser = build_parser()
    commands = next(
        action.choices
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    out = HERE / "gen_modules"
    out.mkdir(exist_ok=True)
    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "88"  # argparse wraps to the terminal width
    try:
        for name in ("reproduce", "info"):
            (out / f"cli_{name}.txt").write_text(commands[name].format_help())
    finally:
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns


_write_cli_help()

# HTML
html_theme = "pydata_sphinx_theme"
html_title = f"wormsk {version}"
html_theme_options = {
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_static_path = []
html_show_sourcelink = True

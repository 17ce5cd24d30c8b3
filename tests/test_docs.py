"""The documentation builds without warnings and every gallery example runs.

The examples run as scripts, each in its own process exactly as a user would run
it, with ``WORMSK_DOCS_FAST=1``: every example reads it (in a block hidden from
the rendered page) to shrink its data and epochs. The Sphinx build then renders
the pages without executing the gallery (``-D plot_gallery=0``), since running
the examples is this module's other test.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))
# Modules documented in docs/api.rst; each name of their __all__ must be listed.
API_MODULES = (
    "wormsk.datasets",
    "wormsk.preprocessing",
    "wormsk.model_selection",
    "wormsk.models",
    "wormsk.metrics",
    "wormsk.experiments",
    "wormsk.plotting",
    "wormsk.nn",
    "wormsk.exceptions",
)
DOCS_REQUIREMENTS = ("sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme")


def test_gallery_has_examples():
    names = {p.name for p in EXAMPLES}
    assert len(names) >= 5, names
    assert (ROOT / "examples" / "GALLERY_HEADER.rst").is_file()


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(script, tmp_path):
    env = {
        **os.environ,
        "WORMSK_DOCS_FAST": "1",
        "MPLBACKEND": "Agg",
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p
        ),
    }
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,  # anything an example writes lands in a temporary directory
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, (
        f"{script.name} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    )


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_fast_settings_are_hidden_and_only_shrink(script):
    """The fast-settings block is hidden from the page and only reassigns sizes.

    So the rendered example is the full one, and the test runs the same code.
    """
    source = script.read_text()
    blocks = re.findall(
        r"# sphinx_gallery_start_ignore\n(.*?)# sphinx_gallery_end_ignore",
        source,
        flags=re.DOTALL,
    )
    assert len(blocks) == 1, "expected one hidden WORMSK_DOCS_FAST block"
    assert "WORMSK_DOCS_FAST" in blocks[0]
    tree = ast.parse(blocks[0])
    for node in ast.walk(tree):
        assert not isinstance(node, (ast.Call, ast.FunctionDef)) or (
            isinstance(node, ast.Call)
            and ast.unparse(node.func) == "os.environ.get"
        ), f"hidden block of {script.name} does more than set sizes: {ast.dump(node)}"
    # Every assignment in the hidden block gives names numbers, each no larger than
    # the visible assignment of that name above it (what the rendered page shows).
    assignments = [
        node for node in ast.walk(tree)
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.NamedExpr))
    ]
    hidden, plain = _number_assignments(assignments)
    assert hidden and len(plain) == len(assignments), (
        f"hidden block of {script.name} assigns something other than numbers"
    )
    start = source[: source.index(blocks[0])].count("\n") + 1
    top = ast.parse(source).body
    visible, _ = _number_assignments([n for n in top if n.lineno < start])
    for name, value in hidden.items():
        assert name in visible, f"{script.name}: {name} is set only in the hidden block"
        assert value <= visible[name], (
            f"{script.name}: hidden {name} = {value} exceeds the shown {visible[name]}"
        )


def _number_assignments(nodes):
    """``{name: number}`` of the plain ``a = 1`` / ``a, b = 1, 2.0`` among ``nodes``.

    Also returns those nodes, so a caller can tell whether all were such.
    """
    values, plain = {}, []
    for node in nodes:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target, value = node.targets[0], node.value
        names = target.elts if isinstance(target, ast.Tuple) else [target]
        numbers = value.elts if isinstance(value, ast.Tuple) else [value]
        if len(names) == len(numbers) and all(
            isinstance(n, ast.Name) for n in names
        ) and all(
            isinstance(v, ast.Constant) and type(v.value) in (int, float)
            for v in numbers
        ):
            values.update({n.id: v.value for n, v in zip(names, numbers)})
            plain.append(node)
    return values, plain


def test_api_reference_lists_every_public_name():
    api = (DOCS / "api.rst").read_text()
    missing = []
    for module_name in API_MODULES:
        module = importlib.import_module(module_name)
        section = api.split(f".. currentmodule:: {module_name}\n", 1)
        assert len(section) == 2, f"docs/api.rst has no section for {module_name}"
        body = section[1].split(".. currentmodule::", 1)[0]
        listed = set(re.findall(r"^ {3}(\w+)$", body, flags=re.MULTILINE))
        listed |= set(re.findall(r"^\.\. auto\w+:: (\w+)$", body, flags=re.MULTILINE))
        missing += [f"{module_name}.{n}" for n in module.__all__ if n not in listed]
    assert not missing, f"public names missing from docs/api.rst: {missing}"


def _python_blocks(text: str) -> list[str]:
    """Bodies of the ``.. code-block:: python`` directives of an rst text."""
    blocks = []
    for match in re.finditer(r"^( *)\.\. code-block:: python\n\n", text, re.M):
        indent = len(match.group(1)) + 3
        lines = []
        for line in text[match.end():].splitlines():
            if line.strip() and len(line) - len(line.lstrip()) < indent:
                break
            lines.append(line[indent:])
        blocks.append("\n".join(lines))
    return blocks


@pytest.mark.parametrize(
    "page", sorted(DOCS.glob("**/*.rst")), ids=lambda p: p.relative_to(DOCS).as_posix()
)
def test_user_guide_code_is_valid(page):
    """Every Python block parses; interactive (>>>) ones run as doctests."""
    text = page.read_text()
    for block in _python_blocks(text):
        if block.lstrip().startswith(">>>"):
            continue
        ast.parse(block)
    result = doctest.testfile(
        str(page),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        verbose=False,
    )
    assert result.failed == 0
    # Every interactive example ran (doctest finds one per ">>>" prompt).
    assert result.attempted == len(re.findall(r"^\s*>>>", text, flags=re.M))


def _copy_sources(dest: Path) -> Path:
    ignore = shutil.ignore_patterns(
        "_build", "generated", "gen_modules", "auto_examples", "sg_execution_times.rst"
    )
    shutil.copytree(DOCS, dest / "docs", ignore=ignore)
    shutil.copytree(ROOT / "examples", dest / "examples", ignore=ignore)
    return dest / "docs"


def test_sphinx_build_has_no_warnings(tmp_path):
    missing = [m for m in DOCS_REQUIREMENTS if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(
            f"documentation tools not installed ({', '.join(missing)}); "
            'install them with pip install -e ".[docs]"'
        )
    # Build a copy, so generated pages never land in (or go stale in) the checkout.
    source = _copy_sources(tmp_path)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p
        ),
    }
    result = subprocess.run(
        [
            sys.executable, "-m", "sphinx",
            "-W", "--keep-going", "-q",
            "-b", "html",
            "-D", "plot_gallery=0",
            "-d", str(tmp_path / "doctrees"),
            str(source), str(tmp_path / "html"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"sphinx-build failed:\n{result.stderr[-6000:]}"
    html = tmp_path / "html"
    for page in ("index", "api", "user_guide/data", "auto_examples/index"):
        assert (html / f"{page}.html").is_file(), page
    for script in EXAMPLES:
        assert (html / "auto_examples" / f"{script.stem}.html").is_file(), script.name
    assert (html / "generated" / "wormsk.models.GNNClassifier.html").is_file()


# --- README ------------------------------------------------------------------
README = ROOT / "README.md"


def _readme_command(kind: str) -> str:
    lines = README.read_text().splitlines()
    start = next(
        i for i, line in enumerate(lines) if line.startswith(f"<!-- ci:{kind}-command")
    )
    assert lines[start + 1] == "```bash" and lines[start + 3] == "```"
    return lines[start + 2]


def test_readme_quickstart_is_what_ci_runs():
    """CPU note first; CI runs the two commands; the main job installs its needs."""
    tomllib = pytest.importorskip("tomllib")
    text = README.read_text()
    quickstart = text[text.index("## Quickstart") :]
    assert (
        quickstart.index("download.pytorch.org/whl/cpu")
        < quickstart.index("<!-- ci:test-command")
        < quickstart.index("<!-- ci:main-command")
    )
    run = (ROOT / ".ci" / "run").read_text()
    test_command = _readme_command("test")
    assert f"TEST_COMMAND='{test_command}'" in run
    assert run.rstrip().splitlines()[-1] == test_command  # pytest's output closes CI
    assert "readme_command main" in run
    main = re.fullmatch(
        r'pip install -e "\.\[(\w+)\]" && wormsk reproduce --quick',
        _readme_command("main"),
    )
    assert main, "the main job installs one extra and runs reproduce --quick"
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    needs = {re.split(r"[<>=!~ ]", dep)[0] for dep in extras[main.group(1)]}
    # reproduce's full report: figures (matplotlib) and the connectome.
    assert {"matplotlib", "wormneuroatlas"} <= needs


def test_readme_python_blocks_parse_and_kato_fetch_is_not_offered():
    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 2
    for block in blocks:
        ast.parse(block)
        assert "print(f\"" in block  # labelled output
    assert "--kato fetch --nichols" not in text
    assert "TIMING" not in text and "OUTPUT" not in text


def _readme_examples() -> list[tuple[str, str]]:
    """Every README Python block with the output the README says it printed.

    The output follows the block as "which printed", either in a ```text block or
    inline between backticks.
    """
    text = README.read_text()
    found = re.findall(
        r"```python\n(.*?)```\s*which printed\s*(?:```text\n(.*?)```|`([^`]*)`)",
        text,
        flags=re.S,
    )
    return [(code, (block or inline).strip()) for code, block, inline in found]


def test_every_readme_python_block_states_its_output():
    blocks = re.findall(r"```python\n", README.read_text())
    assert len(_readme_examples()) == len(blocks) >= 2


@pytest.mark.parametrize(
    "code, printed", _readme_examples(), ids=["grid_search", "leave_worms_out"]
)
def test_readme_examples_print_what_the_readme_says(code, printed, capsys):
    # The README's numbers are a promise to a new user: run each block as written.
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    assert capsys.readouterr().out.strip() == printed

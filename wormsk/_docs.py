"""One source for parameter documentation shared by several public functions.

Modules add entries to :data:`docdict` and decorate with :func:`fill_doc`; a
docstring names an entry as ``%(name)s`` on a line of its own (MNE-Python's
docdict style). Unlike ``str.__mod__`` only known ``%(name)s`` placeholders are
touched, so a docstring may hold a literal ``%``.
"""

from __future__ import annotations

import re
import textwrap

__all__ = ["docdict", "fill_doc"]

#: Parameter documentation by name: ``"name : type\n    description"``, with the
#: description indented by 4 spaces and no leading indentation on the first line.
docdict: dict[str, str] = {}

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def fill_doc(obj):
    """Fill ``%(name)s`` placeholders in ``obj.__doc__`` from :data:`docdict`.

    Each entry is re-indented to the placeholder's own indentation, so the same
    entry reads right in a function's and in a method's docstring.

    Parameters
    ----------
    obj : callable or class
        Decorated object; its docstring is replaced in place.

    Returns
    -------
    obj : callable or class
        The same object.

    Raises
    ------
    KeyError
        If a placeholder has no entry in :data:`docdict` (a typo must not ship a
        docstring with ``%(...)s`` in it).
    """
    doc = obj.__doc__
    if not doc:
        return obj

    def entry(match: re.Match) -> str:
        name = match.group(1)
        if name not in docdict:
            raise KeyError(
                f"{getattr(obj, '__qualname__', obj)!s}: no docdict entry "
                f"{name!r} (placeholder %({name})s)"
            )
        line_start = doc.rfind("\n", 0, match.start()) + 1
        indent = doc[line_start : match.start()]
        if indent.strip():  # placeholder inside text: insert as is
            return docdict[name]
        text = textwrap.dedent(docdict[name]).strip("\n")
        return textwrap.indent(text, indent)[len(indent) :]

    obj.__doc__ = _PLACEHOLDER.sub(entry, doc)
    return obj

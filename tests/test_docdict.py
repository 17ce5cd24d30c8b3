"""The shared parameter documentation (wormsk._docs)."""

import pytest

from wormsk._docs import docdict, fill_doc


def test_fill_doc_indents_entry_and_keeps_percent(monkeypatch):
    monkeypatch.setitem(docdict, "_demo", "demo : int\n    What it is, 100%.\n")

    class Thing:
        def method(self):
            """Do it at 50 % speed.

            Parameters
            ----------
            %(_demo)s
            """

    fill_doc(Thing.method)
    assert Thing.method.__doc__ == (
        "Do it at 50 % speed.\n\n            Parameters\n            ----------\n"
        "            demo : int\n                What it is, 100%.\n            "
    )


def test_fill_doc_unknown_entry_is_an_error():
    def f():
        """%(no_such_entry)s"""

    with pytest.raises(KeyError, match="no_such_entry"):
        fill_doc(f)

"""A Griffe extension for the docs: a lesson module's "Notation:" block becomes a list.

Every lesson module's docstring has a notation block written for the terminal, as aligned
columns::

    Notation:
        boxes         float ``[N, 4]`` as ``(x1, y1, x2, y2)`` in absolute pixels
        deltas        ``dx = ...``,
                      ``dw = ...``  (a longer entry goes on over more lines)

Markdown would join those lines into one run-on paragraph. This extension rewrites the block,
before mkdocstrings renders it, into a Markdown list (one item per symbol, the symbol in code),
under the same "Notation:" title. The docstrings themselves stay as they are, for ``help()``
and the terminal. Used by ``mkdocs.yml`` (``extensions:`` of the Python handler).
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension

_BLOCK = re.compile(r"^Notation:\n((?:[ \t]+\S.*\n?|[ \t]*\n(?=[ \t]+\S))+)", flags=re.MULTILINE)
_ENTRY = re.compile(r"^(\S.*?)(?:\s{2,}|\t)(\S.*)$")


def notation_as_list(docstring: str) -> str:
    """The docstring with its "Notation:" block as a Markdown list (unchanged without one)."""

    def rewrite(found: re.Match[str]) -> str:
        lines = [line for line in found.group(1).splitlines() if line.strip()]
        base = min(len(line) - len(line.lstrip()) for line in lines)
        entries: list[list[str]] = []
        for line in lines:
            text = line[base:]
            entry = _ENTRY.match(text)
            if text[:1].isspace() or entry is None:
                if entries:  # continuation of the entry above
                    entries[-1][1] += " " + text.strip()
                    continue
                entries.append([text.strip(), ""])
                continue
            entries.append([entry.group(1).strip(), entry.group(2).strip()])
        items = []
        for symbol, meaning in entries:
            symbol = symbol.replace("`", "")
            meaning = re.sub(r"\s{2,}", " ", meaning)
            items.append(f"    - `{symbol}`: {meaning}" if meaning else f"    - {symbol}")
        return "Notation:\n" + "\n".join(items) + "\n"

    return _BLOCK.sub(rewrite, docstring)


class NotationBlocks(Extension):
    """Rewrites each module docstring's "Notation:" block as a list (see the module docstring)."""

    def on_module_instance(self, *, mod: Any, **kwargs: Any) -> None:
        if mod.docstring is not None and "Notation:" in mod.docstring.value:
            mod.docstring.value = notation_as_list(mod.docstring.value)

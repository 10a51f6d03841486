"""MkDocs hooks (mkdocs.yml ``hooks:``): docstrings' doctests shown as code.

The API reference renders docstrings as Markdown, where a doctest is plain text: its
``[...]`` output reads as a link and its lines run together. The preprocessor below
fences each doctest (from ``>>>`` to the next blank line) as ``pycon``; text inside a
fence already is left alone.
"""

from __future__ import annotations

import re
from typing import Any

from markdown import Extension, Markdown
from markdown.preprocessors import Preprocessor

FENCE = re.compile(r"^\s*(```|~~~)")


class DoctestFences(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        in_fence = in_doctest = False
        for line in lines:
            if in_doctest and not line.strip():
                out.append("```")
                in_doctest = False
            elif not in_doctest and FENCE.match(line):
                in_fence = not in_fence
            elif not in_fence and not in_doctest and line.startswith(">>>"):
                out.append("```pycon")
                in_doctest = True
            out.append(line)
        if in_doctest:
            out.append("```")
        return out


class DoctestFencesExtension(Extension):
    def extendMarkdown(self, md: Markdown) -> None:
        # before the fenced-code preprocessor (priority 25), so that it fences these too
        md.preprocessors.register(DoctestFences(md), "cardseq_doctest_fences", 30)


def on_config(config: Any) -> Any:
    config.markdown_extensions.append(DoctestFencesExtension())
    return config

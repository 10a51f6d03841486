"""Three mistakes a user makes; ``mypy --strict`` must report each on its line, and
nothing else (tests/test_typing.py asserts the lines)."""

from __future__ import annotations

from cardseq.aio import AsyncCardService
from cardseq.store import SeriesInfo


async def mistakes(service: AsyncCardService, info: SeriesInfo) -> None:
    await service.generat("WEB", 1)  # misspelt method
    print(info.code)  # a SeriesInfo has .series.code, not .code
    await service.reserve("WEB", 1, request_id=7)  # a request id is a string

"""msgspec Structs against pydantic models for the server's contract, side by side.

Two cases, each timed in turns in one process (``--rounds`` rounds of ``--n`` calls),
printing best and median microseconds a call and the ratio pydantic / msgspec:

- decode and validate a generate request body (bytes to a typed request);
- encode a generate answer of 100 numbers (a typed answer to bytes).

Needs both packages: ``pip install msgspec pydantic``. The server uses msgspec.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Annotated

import msgspec
import pydantic

BODY = b'{"seriesId": 173, "count": 5, "statusLabel": "NOT_ISSUED", "requestId": "order-42"}'
NUMBERS = [f"Test09{i:012d}end" for i in range(137, 37, -1)]


class MsgGenerate(msgspec.Struct, kw_only=True):
    seriesId: Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)] | None = None
    seriesID: Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)] | None = None
    count: int
    statusLabel: str = "NOT_ISSUED"
    requestId: str | None = None


class MsgWarning(msgspec.Struct):
    code: int
    message: str


class MsgGenerated(msgspec.Struct):
    data: list[str]
    warnings: list[MsgWarning]
    errors: list[MsgWarning]


class PydGenerate(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(strict=True)
    seriesId: Annotated[int, pydantic.Field(ge=1, le=2**63 - 1)] | None = None
    seriesID: Annotated[int, pydantic.Field(ge=1, le=2**63 - 1)] | None = None
    count: int
    statusLabel: str = "NOT_ISSUED"
    requestId: str | None = None


class PydWarning(pydantic.BaseModel):
    code: int
    message: str


class PydGenerated(pydantic.BaseModel):
    data: list[str]
    warnings: list[PydWarning]
    errors: list[PydWarning]


def timed(call: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    decoder = msgspec.json.Decoder(MsgGenerate)
    encoder = msgspec.json.Encoder()
    msg_answer = MsgGenerated(NUMBERS, [], [])
    pyd_answer = PydGenerated(data=NUMBERS, warnings=[], errors=[])
    assert decoder.decode(BODY).count == PydGenerate.model_validate_json(BODY).count == 5
    assert msgspec.json.decode(encoder.encode(msg_answer)) == pyd_answer.model_dump()
    cases: dict[str, dict[str, Callable[[], object]]] = {
        "decode+validate a generate request": {
            "msgspec": lambda: decoder.decode(BODY),
            "pydantic": lambda: PydGenerate.model_validate_json(BODY),
        },
        "encode a 100-number answer": {
            "msgspec": lambda: encoder.encode(msg_answer),
            "pydantic": lambda: pyd_answer.model_dump_json(),
        },
    }
    print(f"msgspec {msgspec.__version__}, pydantic {pydantic.VERSION}; {args.n} calls a round")
    for name, sides in cases.items():
        times: dict[str, list[float]] = {side: [] for side in sides}
        for _ in range(args.rounds):
            for side, call in sides.items():  # in turns: both see the same machine load
                times[side].append(timed(call, args.n))
        medians = {side: statistics.median(t) for side, t in times.items()}
        shown = ", ".join(
            f"{side} best {min(times[side]):.2f} median {medians[side]:.2f} us" for side in sides
        )
        print(f"{name}: {shown}; pydantic/msgspec {medians['pydantic'] / medians['msgspec']:.1f}x")


if __name__ == "__main__":
    main()

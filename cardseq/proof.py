"""A proof sheet: the first cards of a reservation drawn as a print buyer signs them off.

Each card is a tile at its real size (ISO/IEC 7810 ID-1, 85.60 x 53.98 mm, at 12 pixels a
millimetre, about 305 dpi): the series, the number as printed and as grouped for
reading, a Code 128 barcode of the number, and the PIN masked (its length only: a proof
never holds a PIN, so it needs no PIN key). Eight tiles go on an A4 page; a PDF has as
many pages as needed, a PNG is one image with every tile. Drawn with python-barcode and
Pillow, the ``print`` extra.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Final

from .block import Block
from .errors import InvalidArgument
from .extras import needed, require
from .outfile import OutputFile
from .records import GenerationEntry

PX_PER_MM: Final = 12
CARD: Final = (round(85.60 * PX_PER_MM), round(53.98 * PX_PER_MM))
PAGE: Final = (210 * PX_PER_MM, 297 * PX_PER_MM)
COLUMNS, ROWS = 2, 4
GAP: Final = 8 * PX_PER_MM
HEADER: Final = 24 * PX_PER_MM
#: the most cards a proof draws
MAX_CARDS: Final = 200
FORMATS: Final = ("pdf", "png")
FEATURE: Final = "cardseq proof"


def check(path: str, count: int) -> str:
    """The format of ``path`` (by its suffix) and a usable ``count``, checked before
    anything is read or drawn; the ``print`` extra too."""
    fmt = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    if fmt not in FORMATS:
        raise InvalidArgument.bad("--out", path, "must end in .pdf or .png")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_CARDS:
        raise InvalidArgument.bad("count", count, f"must be an integer from 1 to {MAX_CARDS}")
    require("print", FEATURE)
    return fmt


def render(block: Block, entry: GenerationEntry, path: str, *, count: int = 8) -> int:
    """Draw the first ``count`` cards of ``block`` (reservation ``entry``) to ``path``
    (``.pdf`` or ``.png``), whole or not at all; return the pages drawn."""
    fmt = check(path, count)
    with needed("print", FEATURE):
        from PIL import Image, ImageDraw, ImageFont

    shown = min(count, block.count)
    numbers = Block(block.series, block.start, shown).to_list()
    fonts = {size: ImageFont.load_default(size=size) for size in (36, 44, 72)}
    tiles = [_tile(block, number, fonts) for number in numbers]
    title = (
        f"Proof: series {block.series.code}, ledger id {entry.id}, request id"
        f" {entry.request_id}, {shown} of {entry.count} cards;"
        f" drawn {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    )
    per_page = COLUMNS * ROWS
    if fmt == "png":
        rows = math.ceil(shown / COLUMNS)
        sheets = [_sheet(Image, ImageDraw, tiles, rows, title, fonts[36])]
    else:
        sheets = [
            _sheet(Image, ImageDraw, tiles[k : k + per_page], ROWS, title, fonts[36])
            for k in range(0, shown, per_page)
        ]
    with OutputFile(path) as target:
        if fmt == "png":
            sheets[0].save(target.fp, "PNG")
        else:
            sheets[0].save(
                target.fp,
                "PDF",
                save_all=True,
                append_images=sheets[1:],
                resolution=PX_PER_MM * 25.4,
            )
    return len(sheets)


def _tile(block: Block, number: str, fonts: dict[int, Any]) -> Any:
    """One card at its real size."""
    import barcode
    from barcode.writer import ImageWriter
    from PIL import Image, ImageDraw

    series = block.series
    card = Image.new("RGB", CARD, "white")
    draw = ImageDraw.Draw(card)
    draw.rounded_rectangle((0, 0, CARD[0] - 1, CARD[1] - 1), radius=38, outline="black", width=3)
    pad = 5 * PX_PER_MM
    draw.text((pad, pad), series.code, fill="black", font=fonts[36])
    draw.text((pad, pad + 60), number, fill="black", font=fonts[72])
    y = pad + 150
    if series.group:
        draw.text((pad, y), series.display(number), fill="black", font=fonts[44])
    y += 70
    if series.pin_length:
        draw.text((pad, y), "PIN " + "*" * series.pin_length, fill="black", font=fonts[44])
    options = {"write_text": False, "module_width": 0.3, "module_height": 12.0,
               "quiet_zone": 4.0, "dpi": round(PX_PER_MM * 25.4)}  # fmt: skip
    bars = barcode.get("code128", number, writer=ImageWriter()).render(options)
    width = CARD[0] - 2 * pad
    if bars.width > width:  # a long number: narrower bars, still whole modules apart
        bars = bars.resize((width, bars.height), Image.Resampling.NEAREST)
    card.paste(bars, (pad, CARD[1] - pad - bars.height))
    return card


def _sheet(image: Any, draw_module: Any, tiles: list[Any], rows: int, title: str, font: Any) -> Any:
    """A page (or, for a PNG, one sheet) of tiles under the title."""
    height = max(PAGE[1], HEADER + rows * (CARD[1] + GAP) + GAP)
    sheet = image.new("RGB", (PAGE[0], height), "white")
    draw_module.Draw(sheet).text((GAP, GAP), title, fill="black", font=font)
    left = (PAGE[0] - COLUMNS * CARD[0] - (COLUMNS - 1) * GAP) // 2
    for k, tile in enumerate(tiles):
        row, column = divmod(k, COLUMNS)
        sheet.paste(tile, (left + column * (CARD[0] + GAP), HEADER + row * (CARD[1] + GAP)))
    return sheet


__all__ = ["FORMATS", "MAX_CARDS", "check", "render"]

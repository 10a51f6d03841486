"""cardseq: card series and collision-free card numbers in bulk."""

from ._engine import COMPILED
from .block import Block
from .errors import (
    CardNotFound,
    CardSeqError,
    CountTooLarge,
    GenerationDisabled,
    InvalidArgument,
    InvalidCount,
    InvalidLength,
    InvalidNumber,
    InvalidOffset,
    InvalidPrefix,
    InvalidRelease,
    InvalidSeries,
    InvalidStatusLabel,
    InvalidSuffix,
    LabelNotMapped,
    LengthTooLong,
    LengthTooShort,
    SeriesExhausted,
    SeriesExists,
    SeriesOverlap,
    StatusUnchanged,
    StoreError,
    StoreNotDurable,
    StoreUnreachable,
    TransitionNotAllowed,
)
from .series import CardSeries, Method
from .service import CardService

__version__ = "0.1.0"

__all__ = [
    "COMPILED",
    "Block",
    "CardNotFound",
    "CardSeqError",
    "CardSeries",
    "CardService",
    "CountTooLarge",
    "GenerationDisabled",
    "InvalidArgument",
    "InvalidCount",
    "InvalidLength",
    "InvalidNumber",
    "InvalidOffset",
    "InvalidPrefix",
    "InvalidRelease",
    "InvalidSeries",
    "InvalidStatusLabel",
    "InvalidSuffix",
    "LabelNotMapped",
    "LengthTooLong",
    "LengthTooShort",
    "Method",
    "SeriesExhausted",
    "SeriesExists",
    "SeriesOverlap",
    "StatusUnchanged",
    "StoreError",
    "StoreNotDurable",
    "StoreUnreachable",
    "TransitionNotAllowed",
]

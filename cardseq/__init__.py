"""cardseq: card series and collision-free card numbers in bulk."""

from importlib.metadata import version as _version

from ._engine import COMPILED
from .block import Block
from .errors import (
    CardNotFound,
    CardSeqError,
    CountTooLarge,
    GenerationDisabled,
    InsecureKeysFile,
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
    KeyMismatch,
    KeyNotFound,
    KeysInStore,
    LabelExists,
    LabelNotMapped,
    LengthTooLong,
    LengthTooShort,
    SchemaMismatch,
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

#: the installed distribution's version: pyproject.toml is its one source
__version__ = _version("cardseq")

__all__ = [
    "COMPILED",
    "Block",
    "CardNotFound",
    "CardSeqError",
    "CardSeries",
    "CardService",
    "CountTooLarge",
    "GenerationDisabled",
    "InsecureKeysFile",
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
    "KeyMismatch",
    "KeyNotFound",
    "KeysInStore",
    "LabelExists",
    "LabelNotMapped",
    "LengthTooLong",
    "LengthTooShort",
    "Method",
    "SchemaMismatch",
    "SeriesExhausted",
    "SeriesExists",
    "SeriesOverlap",
    "StatusUnchanged",
    "StoreError",
    "StoreNotDurable",
    "StoreUnreachable",
    "TransitionNotAllowed",
]

"""The HTTP contract as types: every request body, query and answer of the server.

One declaration serves three purposes: ``read_body`` and ``read_params`` check requests
against these models (msgspec), ``openapi.build_openapi`` derives the document's
schemas from them, and the answers the server sends have their shapes.

Where the domain owns a rule and its error code (a series' prefix, length and offset,
a count, a status label, a request id's length), the model states the rule for the
document only (``documented``) and the domain checks it, so that each rule is checked
once and answers with the code the reference gives it. The model checks the JSON type
of every field, and the ranges only the HTTP layer knows (ids, the small integers of a
series). A model's refusal becomes the field's coded error in one place (``_refusal``).
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import UNSET, Meta, UnsetType
from msgspec.inspect import IntType

from ..errors import (
    CardNotFound,
    CardSeqError,
    InvalidArgument,
    InvalidCount,
    InvalidLength,
    InvalidOffset,
    InvalidPrefix,
    InvalidSeries,
    InvalidStatusLabel,
    InvalidSuffix,
    clip,
)
from ..integers import json_int, text_int
from ..pins import MAX_ATTEMPTS, MAX_PIN, MIN_PIN
from ..series import (
    MAX_AFFIX,
    MAX_CODE,
    MAX_LENGTH,
    METHOD_ALIASES,
    MIN_LENGTH,
    SEPARATORS,
    CardSeries,
    Cipher,
    Method,
)
from ..store.records import (
    DEFAULT_LABEL,
    DEFAULT_LIMIT,
    LABEL_PATTERN,
    MAX_ID,
    MAX_LIMIT,
    MAX_REQUEST_ID,
    STATUSES,
)

#: expiryDays, maxActiveCardsPerCustomer: 0 .. 2**31 - 1
MAX_SMALL = 2**31 - 1
#: customerId: a string of 1 .. 100 printable characters (or a non-negative integer)
MAX_CUSTOMER = 100
#: the warning code for a field the API does not know (it was ignored)
UNKNOWN_FIELD = 0

T = TypeVar("T", bound=msgspec.Struct)


def documented(**schema: Any) -> Meta:
    """A rule the domain checks, stated for the document only."""
    return Meta(extra_json_schema=schema)


def _pattern(regex: str) -> str:
    return f"^{regex}$"


SeriesId = Annotated[int, Meta(ge=1, le=MAX_ID)]
Small = Annotated[int, Meta(ge=0, le=MAX_SMALL)]
Status = Annotated[str, documented(enum=list(STATUSES))]
SeriesType = Literal["DIGITAL", "PHYSICAL"]
Label = Annotated[str, documented(pattern=_pattern(LABEL_PATTERN.pattern))]
Affix = Annotated[str, documented(pattern=_pattern(f"[A-Za-z0-9]{{0,{MAX_AFFIX}}}"))]
#: the server takes any printable text (str.isprintable); the document promises the
#: printable ASCII part of it, which a regular expression can say exactly
Printable = "^[ -~]*$"
#: a time as ``datetime.isoformat`` writes it (UTC: ``+00:00``); the document's
#: ``date-time`` (RFC 3339)
Time = Annotated[str, Meta(extra_json_schema={"format": "date-time"})]


# ---- requests -----------------------------------------------------------------------


class Request(msgspec.Struct):
    """A request; ``check`` adds the rules a type cannot say."""

    def check(self) -> None:
        pass


class GenerationConfiguration(Request, kw_only=True):
    prefix: Affix = ""
    suffix: Affix = ""
    offset: Annotated[int, documented(minimum=0)] = 0
    length: Annotated[int, documented(minimum=MIN_LENGTH, maximum=MAX_LENGTH)]
    method: Annotated[str, documented(enum=[m.value for m in Method] + list(METHOD_ALIASES))] = (
        Method.DEFAULT.value
    )
    cipher: Annotated[
        str,
        documented(
            enum=[c.value for c in Cipher],
            description="cardseq's own field, not the reference's: the RANDOM methods'"
            " permutation, siphash (cardseq's) or ff1 (NIST SP 800-38G AES-FF1, at least"
            " 1,000,000 numbers)",
        ),
    ] = Cipher.SIPHASH.value
    alphabet: Annotated[
        str,
        documented(
            description="cardseq's own field: the counter's symbols, digits (the default),"
            " crockford, unambiguous, or 2 to 256 distinct letters and digits"
        ),
    ] = "digits"
    blocked: Annotated[
        list[str] | str,
        documented(
            description="cardseq's own field: for a code series, words no code may spell"
            ' (a list, a comma-separated string, or "default" for cardseq\'s list of'
            " English words); codes that would spell one are skipped"
        ),
    ] = ""
    group: Annotated[
        int,
        documented(
            minimum=0,
            maximum=MAX_LENGTH,
            description="cardseq's own field: display numbers in groups of this size (0: none)",
        ),
    ] = 0
    separator: Annotated[
        str,
        documented(enum=list(SEPARATORS), description="cardseq's own field: between groups"),
    ] = "-"
    pinLength: Annotated[
        int,
        documented(
            minimum=0,
            maximum=MAX_PIN,
            description=f"cardseq's own field: digits of each card's PIN ({MIN_PIN} to"
            f" {MAX_PIN}; 0: none), derived from the card under the PIN key, stored nowhere",
        ),
    ] = 0
    pinKeyId: (
        Annotated[
            str,
            documented(
                description="cardseq's own field: the id of the PIN key in the server's key"
                " sources (default: the series code and '.pin'); never the number key"
            ),
        ]
        | UnsetType
    ) = UNSET
    pinAttempts: Annotated[
        int,
        documented(
            minimum=1,
            maximum=MAX_ATTEMPTS,
            description="cardseq's own field: failed PIN checks in a row that lock a card",
        ),
    ] = 5


class SeriesRequest(Request, kw_only=True):
    """Fields that are null count as absent; unknown fields are ignored and named in
    warnings."""

    code: Annotated[
        str,
        documented(
            pattern="^[0-9]*[A-Za-z_-][A-Za-z0-9_-]*$",
            maxLength=MAX_CODE,
            description=f"unique; 1..{MAX_CODE} letters, digits, '_' or '-', not all digits",
        ),
    ]
    name: str | UnsetType = UNSET
    type: SeriesType | UnsetType = UNSET
    expiryDays: Small | UnsetType = UNSET
    maxActiveCardsPerCustomer: Small | UnsetType = UNSET
    cardGenerationEnabled: bool = True
    isActive: bool | UnsetType = UNSET
    trigger: Annotated[str | dict[str, Any], Meta(description="kept as given")] | UnsetType = UNSET
    cardGenerationConfiguration: GenerationConfiguration

    def series(self) -> CardSeries:
        """The definition (the domain checks it: 3022, 3023, 3005, 3024, 3028, 3047)."""
        config = self.cardGenerationConfiguration
        return CardSeries(
            self.code,
            prefix=config.prefix,
            suffix=config.suffix,
            length=config.length,
            offset=config.offset,
            method=config.method,
            key_id=self.code if _keyed(config.method) else None,
            cipher=config.cipher,
            alphabet=config.alphabet,
            blocked=config.blocked,
            group=config.group,
            separator=config.separator,
            pin_length=config.pinLength,
            pin_key_id=(
                None
                if not config.pinLength
                else f"{self.code}.pin"
                if config.pinKeyId is UNSET
                else config.pinKeyId
            ),
            pin_attempts=config.pinAttempts,
        )

    def details(self) -> dict[str, Any]:
        """The fields kept as given: those that were sent."""
        names = ("name", "type", "expiryDays", "maxActiveCardsPerCustomer", "isActive", "trigger")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not UNSET}


class GenerateRequest(Request, kw_only=True):
    """seriesId or its other spelling seriesID is required (both may be given if they
    are equal); null counts as absent; unknown fields are ignored and named in
    warnings."""

    seriesId: SeriesId | UnsetType = UNSET
    seriesID: (
        Annotated[SeriesId, Meta(description="the reference table's spelling of seriesId")]
        | UnsetType
    ) = UNSET
    #: the service checks its range (3025, 3026: the maximum is the server's setting)
    count: Annotated[int, documented(minimum=1)]
    statusLabel: Annotated[Label, Meta(description=f"a label mapped to {DEFAULT_LABEL}")] = (
        DEFAULT_LABEL
    )
    requestId: (
        Annotated[
            str,
            documented(pattern=Printable, minLength=1, maxLength=MAX_REQUEST_ID),
            Meta(description="idempotency key: the same id again answers the same numbers"),
        ]
        | UnsetType
    ) = UNSET

    def check(self) -> None:
        if self.seriesId is UNSET and self.seriesID is UNSET:
            raise InvalidSeries("seriesID is required", field="seriesID")
        if UNSET not in (self.seriesId, self.seriesID) and self.seriesId != self.seriesID:
            raise InvalidSeries(
                f"seriesId {clip(self.seriesId)} and seriesID {clip(self.seriesID)} differ",
                field="seriesId",
                value=self.seriesId,
            )
        if self.requestId is not UNSET and not _text(self.requestId):
            raise InvalidArgument.bad(
                "requestId", self.requestId, "must be a string of printable characters"
            )

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of ``CardService.generate``."""
        args: dict[str, Any] = {
            "series": self.seriesID if self.seriesId is UNSET else self.seriesId,
            "count": self.count,
            "status_label": self.statusLabel,
        }
        if self.requestId is not UNSET:
            args["request_id"] = self.requestId  # the store checks its length (701)
        return args


class StatusRequest(Request, kw_only=True):
    cardNumber: str
    statusLabel: Label
    customerId: (
        Annotated[
            Annotated[
                str, Meta(min_length=1, max_length=MAX_CUSTOMER), documented(pattern=Printable)
            ]
            | Annotated[int, Meta(ge=0, le=MAX_ID)],
            Meta(description="the customer a card is issued to; kept as a string"),
        ]
        | UnsetType
    ) = UNSET

    def check(self) -> None:
        if isinstance(self.customerId, str) and not _text(self.customerId):
            raise _customer_error(self.customerId)

    def customer(self) -> str | None:
        return None if self.customerId is UNSET else str(self.customerId)


class PinRequest(Request, kw_only=True):
    """cardseq's own: a PIN to check against a card's (``CardService.verify_pin``)."""

    cardNumber: str
    pin: Annotated[
        str,
        Meta(max_length=64, description="the PIN as the card holder gave it; never logged"),
    ]


def _text(value: str) -> bool:
    """Printable text a database can store: no control characters, no lone surrogates
    (JSON can carry them; UTF-8 cannot)."""
    return value.isprintable()


# ---- query and path parameters ------------------------------------------------------

Limit = Annotated[
    int, Meta(ge=1, le=MAX_LIMIT, description=f"rows in a page, 1..{MAX_LIMIT} (else 701)")
]
After = Annotated[
    int,
    Meta(
        ge=0,
        le=MAX_ID,
        description="the answer's `next` of the previous page: the rows after it"
        " (0: from the first)",
    ),
]
Number = Annotated[str, Meta(min_length=1, description="a card number")]


class SeriesPath(msgspec.Struct):
    id: SeriesId


class CardQuery(msgspec.Struct):
    number: Number
    lenient: Annotated[
        Literal["true", "false"],
        Meta(
            description="cardseq's own parameter: true reads the number as a person typed"
            " it (case, separators and look-alikes folded, as the series allows)"
        ),
    ] = "false"


class StatusLogQuery(msgspec.Struct):
    number: Number
    limit: Limit = DEFAULT_LIMIT
    after: After = 0


class GenerationLogQuery(msgspec.Struct):
    seriesId: SeriesId
    limit: Limit = DEFAULT_LIMIT
    after: After = 0


# ---- answers ------------------------------------------------------------------------


class Problem(msgspec.Struct):
    code: Annotated[
        int,
        Meta(
            description="a cardseq error code (docs/http.md), or the HTTP status for"
            " errors of the HTTP layer"
        ),
    ]
    message: Annotated[str, Meta(description="what is wrong, naming the field and value")]


class Warning(msgspec.Struct):
    code: Annotated[
        int, Meta(description=f"{UNKNOWN_FIELD}: a field the API does not know was ignored")
    ]
    message: str


Warnings = list[Warning]
NoWarnings = Annotated[list[Warning], Meta(max_length=0)]
NoErrors = Annotated[list[Problem], Meta(max_length=0)]


class ErrorEnvelope(msgspec.Struct):
    """Every answer other than 200 has this shape."""

    data: Annotated[list[str], Meta(max_length=0)]
    warnings: Warnings
    errors: Annotated[list[Problem], Meta(min_length=1)]


class SeriesCreated(msgspec.Struct):
    entity: Annotated[int, Meta(description="the new series id")]
    warnings: Warnings
    errors: NoErrors


class Configuration(msgspec.Struct):
    prefix: str
    suffix: str
    offset: int
    length: int
    method: Method
    cipher: (
        Annotated[Cipher, Meta(description="cardseq's own field: there for ff1")] | UnsetType
    ) = UNSET
    alphabet: (
        Annotated[str, Meta(description="cardseq's own field: there for a code series")] | UnsetType
    ) = UNSET
    group: Annotated[int, Meta(description="cardseq's own field: there when set")] | UnsetType = (
        UNSET
    )
    separator: str | UnsetType = UNSET
    blocked: (
        Annotated[
            list[str], Meta(description="cardseq's own field: there when the series blocks words")
        ]
        | UnsetType
    ) = UNSET
    pinLength: (
        Annotated[int, Meta(description="cardseq's own field: there for PINs")] | UnsetType
    ) = UNSET
    pinKeyId: str | UnsetType = UNSET
    pinAttempts: int | UnsetType = UNSET


class Series(msgspec.Struct):
    """The optional fields are there when they were given at creation."""

    id: int
    code: str
    cardGenerationConfiguration: Configuration
    cardGenerationEnabled: bool
    name: str | UnsetType = UNSET
    type: SeriesType | UnsetType = UNSET
    expiryDays: int | UnsetType = UNSET
    maxActiveCardsPerCustomer: int | UnsetType = UNSET
    isActive: bool | UnsetType = UNSET
    trigger: str | dict[str, Any] | UnsetType = UNSET


class Generated(msgspec.Struct):
    data: Annotated[list[str], Meta(description="the numbers, newest first")]
    warnings: Warnings
    errors: NoErrors


class Card(msgspec.Struct):
    cardNumber: str
    seriesId: int
    seriesCode: str
    index: int
    status: Status
    statusLabel: str
    generatedOn: Time
    customerId: str | None
    updatedOn: Time | None


class CardUpdated(msgspec.Struct):
    entity: Card
    warnings: Warnings
    errors: NoErrors


class PinChecked(msgspec.Struct):
    entity: Annotated[
        bool,
        Meta(
            description="true: the PIN is the card's; false: it is not, and the failure"
            " counts toward the card's lock (error 713)"
        ),
    ]
    warnings: Warnings
    errors: NoErrors


Actor = Annotated[
    str | None,
    Meta(
        description="who made it: the API user (anonymous@ADDRESS without authentication),"
        " or the OS user@host of a command or library call; null when made before"
        " cardseq recorded it"
    ),
]


class StatusChange(msgspec.Struct):
    cardNumber: str
    fromStatus: Status
    toStatus: Status
    statusLabel: str
    customerId: str | None
    changedOn: Time
    actor: Actor = None


class Generation(msgspec.Struct):
    seriesId: int
    start: Annotated[int, Meta(description="index of the first number")]
    count: int
    statusLabel: str
    requestId: str | None
    generatedOn: Time
    firstNumber: str
    lastNumber: str
    actor: Actor = None


Next = Annotated[int | None, Meta(description="`after` for the next page; null on the last page")]


class StatusLog(msgspec.Struct):
    data: list[StatusChange]
    warnings: NoWarnings
    errors: NoErrors
    next: Next


class GenerationLog(msgspec.Struct):
    data: list[Generation]
    warnings: NoWarnings
    errors: NoErrors
    next: Next


class Health(msgspec.Struct):
    """The store answered a read, at this cardseq's schema version."""

    status: Literal["ok"]


REQUESTS = (SeriesRequest, GenerateRequest, StatusRequest, PinRequest)
ANSWERS = (
    Health,
    ErrorEnvelope,
    SeriesCreated,
    Series,
    Generated,
    Card,
    CardUpdated,
    PinChecked,
    StatusLog,
    GenerationLog,
)


# ---- reading requests ---------------------------------------------------------------


class ApiError(Exception):
    """An answer other than 200, with its error object: ``status``, ``code``,
    ``message``, and the request's ``warnings``."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        headers: dict[str, str] | None = None,
        warnings: list[Warning] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.warnings = warnings or []


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def parse_json(raw: bytes) -> Any:
    """Strict JSON: no NaN or Infinity, no number too large for a double, no integer
    beyond Python's digit limit, no nesting deep enough to exhaust the stack."""
    if not raw.strip():
        raise ApiError(400, 400, "the request body is empty; a JSON object is expected")
    try:
        return json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise ApiError(400, 400, "the request body nests arrays or objects too deeply") from None
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError included
        why = str(error)
        if "integer string conversion" in why:
            why = "an integer has more than 4300 digits"
        raise ApiError(400, 400, f"the request body is not valid JSON: {why}"[:300]) from None


class InvalidCustomer(CardSeqError, ValueError):
    """customerId: not a code of the reference domain, so the HTTP status (400)."""

    code = 400


def _customer_error(value: Any) -> CardSeqError:
    return InvalidCustomer(
        f"customerId {clip(value)} must be a string of 1..{MAX_CUSTOMER}"
        " characters or a non-negative integer",
        field="customerId",
        value=value,
    )


#: the error of each field a model refuses: the reference domain's code for it
ERRORS: dict[str, type[CardSeqError]] = {
    "code": InvalidSeries,
    "name": InvalidSeries,
    "type": InvalidSeries,
    "expiryDays": InvalidSeries,
    "maxActiveCardsPerCustomer": InvalidSeries,
    "cardGenerationEnabled": InvalidSeries,
    "isActive": InvalidSeries,
    "trigger": InvalidSeries,
    "cardGenerationConfiguration": InvalidSeries,
    "prefix": InvalidPrefix,
    "suffix": InvalidSuffix,
    "offset": InvalidOffset,
    "length": InvalidLength,
    "method": InvalidSeries,
    "cipher": InvalidSeries,
    "alphabet": InvalidSeries,
    "blocked": InvalidSeries,
    "pinLength": InvalidSeries,
    "pinKeyId": InvalidSeries,
    "pinAttempts": InvalidSeries,
    "group": InvalidSeries,
    "separator": InvalidSeries,
    "lenient": InvalidArgument,
    "seriesId": InvalidSeries,
    "seriesID": InvalidSeries,
    "id": InvalidSeries,
    "count": InvalidCount,
    "statusLabel": InvalidStatusLabel,
    "requestId": InvalidArgument,
    "cardNumber": CardNotFound,
    "pin": InvalidArgument,
    "number": CardNotFound,
    "customerId": InvalidCustomer,
    "limit": InvalidArgument,
    "after": InvalidArgument,
}
_AT = re.compile(r"(?P<why>.*) - at `\$(?P<path>[.\w]*)`")
_MISSING_FIELD = re.compile(r"Object missing required field `(?P<name>\w+)`")
_MISSING = object()


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, msgspec.Struct)


@functools.cache
def _fields(model: type[msgspec.Struct]) -> tuple[frozenset[str], tuple[tuple[str, Any], ...]]:
    """(the JSON names of ``model``'s fields; each name with its nested model or None).
    Once per model: msgspec resolves the annotations on every call, which cost a
    quarter of a small request's time."""
    fields = msgspec.structs.fields(model)
    nested = tuple((f.encode_name, f.type if _is_model(f.type) else None) for f in fields)
    return frozenset(name for name, _ in nested), nested


def _known(
    model: type[msgspec.Struct], body: dict[str, Any], where: str = ""
) -> tuple[dict[str, Any], list[str]]:
    """(the fields ``model`` knows, in its order, nulls left out; the names of the
    others, with ``where`` before them), nested models included."""
    names, fields = _fields(model)
    known: dict[str, Any] = {}
    unknown = [where + name for name in body if name not in names]
    for name, nested in fields:
        value = body.get(name)
        if value is None:  # null means absent
            continue
        if nested is not None and isinstance(value, dict):
            value, more = _known(nested, value, f"{where}{name}.")
            unknown += more
        known[name] = value
    return known, unknown


def _refusal(model: type[msgspec.Struct], body: dict[str, Any], why: str) -> CardSeqError:
    """The coded error of a model's refusal ``why``: the field's own code, a message
    naming the field and its value (integers: the words of ``cardseq.integers``)."""
    at = _AT.fullmatch(why)
    path = [name for name in (at["path"] if at else "").split(".") if name]
    missing = _MISSING_FIELD.match(at["why"] if at else why)
    if missing:
        path.append(missing["name"])
    value: Any = body
    kind: Any = model
    for name in path:
        value = value.get(name, _MISSING) if isinstance(value, dict) else _MISSING
        kind = {f.encode_name: f.type for f in msgspec.structs.fields(kind)}[name]
    while value is _MISSING and _is_model(kind):  # an object missing: its first field
        first = next(f for f in msgspec.structs.fields(kind) if f.required)
        path.append(first.encode_name)
        kind = first.type
    field = path[-1] if path else ""
    error = ERRORS.get(field, InvalidArgument)
    if value is _MISSING:
        return error(f"{'.'.join(path)} is required", field=field)
    if error is InvalidCustomer:
        return _customer_error(value)
    info = _plain(msgspec.inspect.type_info(kind))
    for option in getattr(info, "types", (info,)):
        option = _plain(option)
        if isinstance(option, IntType):
            try:
                json_int(value, field, error, minimum=option.ge, maximum=option.le)
            except CardSeqError as refused:
                return refused
    return error.bad(field, value, f"must be {_expected(info)}")


def _plain(info: msgspec.inspect.Type) -> msgspec.inspect.Type:
    """The type without its ``Meta`` annotations."""
    while isinstance(info, msgspec.inspect.Metadata):
        info = info.type
    return info


def _expected(info: msgspec.inspect.Type) -> str:
    """What a type accepts, in words."""
    info = _plain(info)
    if isinstance(info, msgspec.inspect.UnionType):
        return " or ".join(_expected(t) for t in info.types)
    if isinstance(info, msgspec.inspect.BoolType):
        return "true or false"
    if isinstance(info, msgspec.inspect.LiteralType):
        return f"one of {', '.join(map(str, info.values))}"
    if isinstance(info, msgspec.inspect.StrType):
        return "a string"
    if isinstance(info, IntType):
        return "an integer"
    return "an object"


def read_body(model: type[T], body: Any) -> tuple[T, list[Warning]]:
    """(the request, warnings naming the fields that were ignored). A body the model
    refuses is a 400 with the field's code, and keeps the warnings."""
    if not isinstance(body, dict):
        raise ApiError(400, 400, f"the request body must be a JSON object, not {_json_type(body)}")
    known, unknown = _known(model, body)
    warnings = [
        Warning(UNKNOWN_FIELD, f"field {name!r} is not known and was ignored") for name in unknown
    ]
    try:
        try:
            request = msgspec.convert(known, model)
        except msgspec.ValidationError as refused:
            raise _refusal(model, known, str(refused)) from None
        if isinstance(request, Request):
            request.check()
    except CardSeqError as error:
        raise ApiError(400, error.code, error.message, warnings=warnings) from None
    return request, warnings


def read_params(model: type[T], values: Mapping[str, str], *, status: int = 400) -> T:
    """The query or path parameters of ``model``. Missing or not written as its type
    (integers: ASCII digits) is an ``ApiError`` with ``status``; a value out of range
    is the field's ``CardSeqError`` (the route decides whether that is a 404)."""
    given: dict[str, Any] = {}
    for field in msgspec.structs.fields(model):
        name = field.encode_name
        error = ERRORS[name]
        text = values.get(name)
        if not text and field.required:
            raise ApiError(status, error.code, f"query parameter {name} is required")
        if text is None:
            continue
        try:
            integer = isinstance(_plain(msgspec.inspect.type_info(field.type)), IntType)
            given[name] = text_int(text, name, error) if integer else text
        except CardSeqError as malformed:
            raise ApiError(status, malformed.code, malformed.message) from None
    try:
        return msgspec.convert(given, model)
    except msgspec.ValidationError as refused:
        raise _refusal(model, given, str(refused)) from None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


__all__ = [
    "ANSWERS",
    "REQUESTS",
    "ApiError",
    "parse_json",
    "read_body",
    "read_params",
]


def _keyed(method: Any) -> bool:
    """Whether ``method`` names a keyed method: a series made over HTTP uses the key whose
    id is its code (the reference API has no key field; docs/security.md)."""
    return isinstance(method, str) and method.strip().upper().startswith("RANDOM")

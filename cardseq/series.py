"""A card series: the space of numbers ``prefix + counter + [check digit] + suffix``.

>>> gold = CardSeries("GOLD", prefix="GOLD", suffix="2021", length=24, offset=10)
>>> gold.format(0)
'GOLD00000000000000102021'
>>> gold.parse('GOLD00000000000000122021')
2
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import hmac
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from . import alphabets, blocked, bulk, checkdigit, ff1, pins
from ._engine import Layout
from .alphabets import Alphabet
from .bulk import Parsed
from .errors import (
    InvalidArgument,
    InvalidCount,
    InvalidLength,
    InvalidNumber,
    InvalidOffset,
    InvalidPrefix,
    InvalidSeries,
    InvalidSuffix,
    KeyNotFound,
    LengthTooLong,
    LengthTooShort,
    SeriesExhausted,
    clip,
)
from .integers import as_int, json_int
from .keys import check_key_id
from .permutation import MAX_KEY, MIN_KEY, CycleWalk, Permutation
from .text import fold_case, group, match_affixes, normalize

if TYPE_CHECKING:
    from .block import Block

MIN_LENGTH, MAX_LENGTH = 5, 150
MAX_AFFIX = 50
MAX_CODE = 50
#: what may separate the groups of a number on display
SEPARATORS = ("-", " ", ".")


class Method(enum.StrEnum):
    """How index ``i`` becomes a counter, and which check digit follows it."""

    DEFAULT = "DEFAULT"
    LUHN = "LUHN"
    MOD7 = "MOD7"
    RANDOM = "RANDOM"
    RANDOM_LUHN = "RANDOM_LUHN"
    RANDOM_MOD7 = "RANDOM_MOD7"
    ISO7064 = "ISO7064"
    RANDOM_ISO7064 = "RANDOM_ISO7064"
    DAMM = "DAMM"
    RANDOM_DAMM = "RANDOM_DAMM"

    @property
    def check(self) -> int:
        """The check kind (``checkdigit.NONE``, ``LUHN``, ``MOD7``, ``ISO7064``, ``DAMM``)."""
        if self.value.endswith("ISO7064"):
            return checkdigit.ISO7064
        if self.value.endswith("DAMM"):
            return checkdigit.DAMM
        if self.value.endswith("LUHN"):
            return checkdigit.LUHN
        if self.value.endswith("MOD7"):
            return checkdigit.MOD7
        return checkdigit.NONE

    @property
    def keyed(self) -> bool:
        """True for the non-sequential methods, whose order comes from a key."""
        return self.value.startswith("RANDOM")

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return repr(self.value)

    @classmethod
    def parse(cls, value: Any) -> Method:
        """A method from its name, case-insensitive; the reference aliases included."""
        return _member(cls, value, "method", lambda name: METHOD_ALIASES.get(name, name))


METHOD_ALIASES = {"LUHNALGO": "LUHN", "MOD7_ALGO": "MOD7"}


class Cipher(enum.StrEnum):
    """The keyed methods' permutation of a series' indexes (docs/ff1.md).

    ``SIPHASH``: cardseq's own Feistel network over SipHash, the default and the
    fastest. ``FF1``: NIST SP 800-38G's AES-FF1, for those who must name a standard
    (the ``ff1`` extra; AES keys of 16, 24 or 32 bytes; at least 1,000,000 numbers).
    """

    SIPHASH = "siphash"
    FF1 = "ff1"

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return repr(self.value)

    @classmethod
    def parse(cls, value: Any) -> Cipher:
        """A cipher from its name, case-insensitive."""
        return _member(cls, value, "cipher", str.lower)


_Named = TypeVar("_Named", Method, Cipher)


def _member(cls: type[_Named], value: Any, field: str, spelling: Callable[[str], str]) -> _Named:
    """The member of ``cls`` that ``value`` names, case aside (``spelling`` maps the
    upper-cased name to a value), or the error naming ``field`` and the choices."""
    if isinstance(value, cls):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return cls(spelling(value.strip().upper()))
    names = ", ".join(member.value for member in cls)
    raise InvalidSeries.bad(field, value, f"is not one of {names}")


def _check_fits(method: Method, alpha: Alphabet) -> None:
    """3000 naming ``method`` when its check cannot catch every substitution and swap of
    neighbours over ``alpha`` (or, mod 7, is for digits only)."""
    check, base = method.check, alpha.base
    why = None
    if check == checkdigit.MOD7 and not alpha.digits:
        why = f"is for digits only, not alphabet {alpha.spec!r}"
    elif check == checkdigit.ISO7064 and not alphabets.iso7064_fits(base):
        why = (
            f"needs N+1 prime (MOD N+1,N); alphabet {alpha.spec!r} has N = {base}:"
            " use DAMM, which takes it"
            if alphabets.damm_fits(base)
            else f"needs N+1 prime (MOD N+1,N); alphabet {alpha.spec!r} has N = {base}"
        )
    elif check == checkdigit.DAMM and not alphabets.damm_fits(base):
        why = f"takes an odd number of symbols or a power of two, not {base} ({alpha.spec!r})"
    if why:
        raise InvalidSeries.bad("method", method.value, why)


def _is_alnum(text: str) -> bool:
    return text.isascii() and (text == "" or text.isalnum())


#: the name the store knows the integer reader by
whole_number = as_int


def positive_count(count: Any) -> int:
    """``count`` as an int >= 1, or ``InvalidCount`` (3025)."""
    return json_int(count, "count", InvalidCount, minimum=1)


def number_pattern(prefix: str, suffix: str, length: int, *, coded: bool = False) -> str:
    """A series' numbers' shape: literal prefix and suffix, ``#`` for each digit slot
    (counter and check digit alike, whatever the method), ``*`` for a slot of a code
    series (any letter or digit: the overlap check does not look at its alphabet)."""
    slot = "*" if coded else "#"
    return f"{prefix}{slot * (length - len(prefix) - len(suffix))}{suffix}"


def patterns_overlap(a: str, b: str) -> bool:
    """Whether two number patterns can match one number (DESIGN 2.2).

    Same length, and position by position compatible: two literals only if equal, a
    digit slot with any digit. Prefix ``12`` and prefix ``123`` at one length overlap;
    ``GOLD`` and ``SILV`` never do.

    >>> patterns_overlap("12####", "123###"), patterns_overlap("GO####", "SI####")
    (True, False)
    """
    if len(a) != len(b):
        return False
    return all(
        x == y
        or (x == "#" and y.isdigit())
        or (y == "#" and x.isdigit())
        or (x == "*" and y != "#" and (y == "*" or y.isalnum()))
        or (y == "*" and x != "#" and (x == "*" or x.isalnum()))
        or {x, y} == {"*", "#"}
        for x, y in zip(a, b, strict=True)
    )


def readings_overlap(a: str, b: str) -> bool:
    """Whether one number, as typed, can be read as a number of both patterns in some
    accepted reading: strictly, or leniently (``CardSeries.normalize``), which drops
    separators (no prefix or suffix holds one) and matches prefix and suffix letters
    whatever their case. So: ``patterns_overlap`` of the case-folded patterns.

    >>> readings_overlap("ab####", "AB####"), patterns_overlap("ab####", "AB####")
    (True, False)
    >>> readings_overlap("a1####", "A#####"), readings_overlap("AB####", "A#####")
    (True, False)
    """
    return patterns_overlap(fold_case(a), fold_case(b))


def _secret(name: str, key: object, id_name: str, key_id: str | None) -> bytes | None:
    """A secret key field checked: bytes of a usable size (a fresh one when neither key
    nor id is given; None for an id alone: a store binds it). Messages name the key's
    type or size, never its bytes."""
    if key_id is not None:
        check_key_id(key_id, InvalidSeries)
    if key is None:
        return None if key_id is not None else secrets.token_bytes(32)
    if isinstance(key, (bytearray, memoryview)):
        key = bytes(key)
    if not isinstance(key, bytes):
        raise InvalidSeries(f"{name} must be bytes, not {type(key).__name__}", field=name)
    if not MIN_KEY <= len(key) <= MAX_KEY:
        raise InvalidSeries(
            f"{name} has {len(key)} bytes; it must have {MIN_KEY} to {MAX_KEY}", field=name
        )
    return key


@dataclass(frozen=True)
class CardSeries:
    """A validated card series. Invalid fields raise the matching ``CardSeqError``."""

    code: str
    _: KW_ONLY
    length: int
    prefix: str = ""
    suffix: str = ""
    offset: int = 0
    method: Method = Method.DEFAULT
    key: bytes | None = field(default=None, repr=False)
    """The RANDOM methods' secret (16..64 bytes). If None: with a ``key_id``, the series
    is *unbound* (a store binds it to the key of that id); without, a fresh 32 bytes
    from ``secrets`` (for use outside a store)."""
    key_id: str | None = field(default=None, repr=False)
    """The id of the key in the operator's key sources (docs/security.md): what a store
    records instead of the key."""
    cipher: Cipher = Cipher.SIPHASH
    """The keyed methods' permutation: cardseq's own (``siphash``) or NIST's ``ff1``."""
    alphabet: Alphabet = alphabets.DIGITS
    """The counter's symbols (``alphabets``): ``digits``, ``crockford``,
    ``unambiguous``, or a string of them."""
    blocked: tuple[str, ...] = ()
    """Words no code may spell (``blocked``): a code series' void counters are skipped,
    and ``capacity`` counts the codes left. ``"default"`` takes cardseq's list."""
    group: int = 0
    """Display only: the number in groups of this many characters (0: none)."""
    separator: str = "-"
    """Display only: what goes between groups (``-``, a space or ``.``)."""
    pin_length: int = 0
    """Digits of each card's PIN (4..12; 0: no PINs): a keyed function of the card's
    index under the PIN key (``cardseq.pins``), stored nowhere."""
    pin_key: bytes | None = field(default=None, repr=False)
    """The PINs' secret (16..64 bytes), never the number key. If None: with a
    ``pin_key_id``, a store binds it; without, a fresh 32 bytes from ``secrets``."""
    pin_key_id: str | None = field(default=None, repr=False)
    """The id of the PIN key in the operator's key sources."""
    pin_attempts: int = 5
    """Failed PIN checks in a row that lock a card (``CardService.verify_pin``)."""

    counter_width: int = field(init=False, compare=False)
    capacity: int = field(init=False, repr=False, compare=False)
    _layout: Layout = field(init=False, repr=False, compare=False)
    _pins: pins.Schedule | None = field(init=False, repr=False, compare=False)

    if TYPE_CHECKING:
        # What the generated __init__ takes: __post_init__ turns a method's name into a
        # Method and a key's bytes-like object into bytes, so the fields hold only those.
        def __init__(
            self,
            code: str,
            *,
            length: int,
            prefix: str = ...,
            suffix: str = ...,
            offset: int = ...,
            method: Method | str = ...,
            key: bytes | bytearray | memoryview | None = ...,
            key_id: str | None = ...,
            cipher: Cipher | str = ...,
            alphabet: Alphabet | str = ...,
            blocked: str | Iterable[str] | None = ...,
            group: int = ...,
            separator: str = ...,
            pin_length: int = ...,
            pin_key: bytes | bytearray | memoryview | None = ...,
            pin_key_id: str | None = ...,
            pin_attempts: int = ...,
        ) -> None: ...

    def __post_init__(self) -> None:
        if (
            not isinstance(self.code, str)
            or not self.code
            or len(self.code) > MAX_CODE
            or not _is_alnum(self.code.replace("_", "").replace("-", ""))
            or self.code.isdigit()
        ):
            raise InvalidSeries.bad(
                "code",
                self.code,
                f"must be 1..{MAX_CODE} ASCII letters, digits, '_' or '-',"
                " not all digits (an all-digit reference means a series id)",
            )
        if (
            not isinstance(self.prefix, str)
            or len(self.prefix) > MAX_AFFIX
            or not _is_alnum(self.prefix)
        ):
            raise InvalidPrefix.bad(
                "prefix", self.prefix, f"must be 0..{MAX_AFFIX} ASCII letters or digits"
            )
        if (
            not isinstance(self.suffix, str)
            or len(self.suffix) > MAX_AFFIX
            or not _is_alnum(self.suffix)
        ):
            raise InvalidSuffix.bad(
                "suffix", self.suffix, f"must be 0..{MAX_AFFIX} ASCII letters or digits"
            )
        length = as_int(self.length)
        if length is None:
            raise InvalidLength.bad("length", self.length, "must be an integer")
        if length > MAX_LENGTH:
            raise LengthTooLong.bad("length", self.length, f"is above {MAX_LENGTH}")
        if length < MIN_LENGTH:
            raise LengthTooShort.bad("length", self.length, f"is below {MIN_LENGTH}")
        method = Method.parse(self.method)
        alpha = alphabets.alphabet(self.alphabet)
        _check_fits(method, alpha)
        self._check_display(alpha)
        has_check = method.check != checkdigit.NONE
        body = length - len(self.prefix) - len(self.suffix)
        if body < 1 + has_check:
            need = len(self.prefix) + len(self.suffix) + 1 + has_check
            raise InvalidLength.bad(
                "length",
                self.length,
                f"leaves {body} character(s) for the counter{' and check' if has_check else ''}"
                f" after prefix {self.prefix!r} and suffix {self.suffix!r}; "
                f"method {method} needs length >= {need}",
            )
        width = body - has_check
        space = alpha.base**width
        offset = as_int(self.offset)
        if offset is None or not 0 <= offset < space:
            top = space - 1 if space <= 10**20 else f"{alpha.base}**{width} - 1"
            raise InvalidOffset.bad(
                "offset",
                self.offset,
                f"must be an integer from 0 to {top} (the counter has {width} symbol(s))",
            )
        key = self._checked_key(method)
        cipher = self._checked_cipher(method, key, space - offset, width)
        if cipher is Cipher.FF1 and not alpha.digits:
            raise InvalidSeries.bad("cipher", cipher.value, "is for digit series only, here")
        set_ = object.__setattr__
        set_(self, "key", key)
        set_(self, "length", length)
        set_(self, "offset", offset)
        set_(self, "method", method)
        set_(self, "cipher", cipher)
        set_(self, "alphabet", alpha)
        set_(self, "counter_width", width)
        set_(self, "capacity", space - offset)
        check_prefix = self.prefix if self.prefix and alpha.has(self.prefix) else ""
        perm: CycleWalk | None = None
        if key is not None:
            perm = (
                ff1.FF1Permutation(key, self.code.encode("ascii"), space - offset)
                if cipher is Cipher.FF1
                else Permutation(key, space - offset)
            )
        coded = not alpha.digits or method.check in (checkdigit.ISO7064, checkdigit.DAMM)
        layout = Layout(
            self.prefix.encode("ascii"),
            self.suffix.encode("ascii"),
            width,
            method.check,
            check_prefix,
            offset,
            perm,
            alpha if coded else None,
        )
        words = blocked.words(self.blocked, alpha, self.prefix + self.suffix)
        set_(self, "blocked", words)
        if words:
            layout = layout._replace(blocked=blocked.blocklist(words, layout))
            set_(self, "capacity", layout.blocked.capacity)  # type: ignore[union-attr]
        set_(self, "_layout", layout)
        self._check_pins()

    def _check_display(self, alpha: Alphabet) -> None:
        group = as_int(self.group)
        if group is None or not 0 <= group <= MAX_LENGTH:
            raise InvalidSeries.bad(
                "group", self.group, f"must be an integer from 0 to {MAX_LENGTH}"
            )
        if self.separator not in SEPARATORS:
            raise InvalidSeries.bad(
                "separator", self.separator, f"must be one of {', '.join(map(repr, SEPARATORS))}"
            )
        if self.separator in alpha.symbols:
            raise InvalidSeries.bad("separator", self.separator, "is a symbol of the alphabet")
        object.__setattr__(self, "group", group)

    def _checked_key(self, method: Method) -> bytes | None:
        """The key of a keyed method (a fresh one if neither key nor key id was given);
        None otherwise.

        Messages name the key's type or size, never its bytes.
        """
        key: object = self.key  # (the constructor takes any bytes-like object)
        if not method.keyed:
            for name, value in (("key", key), ("key_id", self.key_id)):
                if value is not None:
                    raise InvalidSeries(
                        f"{name} is only for the RANDOM methods, not {method}", field=name
                    )
            return None
        return _secret("key", key, "key_id", self.key_id)

    def _check_pins(self) -> None:
        """Set the PIN fields: a length of 0 (no PIN key then) or 4..12, and its key."""
        length = as_int(self.pin_length)
        if length is None or not (length == 0 or pins.MIN_PIN <= length <= pins.MAX_PIN):
            raise InvalidSeries.bad(
                "pin_length",
                self.pin_length,
                f"must be 0 (no PINs) or {pins.MIN_PIN} to {pins.MAX_PIN} digits",
            )
        attempts = as_int(self.pin_attempts)
        if attempts is None or not 1 <= attempts <= pins.MAX_ATTEMPTS:
            raise InvalidSeries.bad(
                "pin_attempts",
                self.pin_attempts,
                f"must be an integer from 1 to {pins.MAX_ATTEMPTS}",
            )
        key = None
        if length == 0:
            for name in ("pin_key", "pin_key_id"):
                if getattr(self, name) is not None:
                    raise InvalidSeries(f"{name} is only for a series with PINs", field=name)
        else:
            key = _secret("pin_key", self.pin_key, "pin_key_id", self.pin_key_id)
            if key is not None and self.key is not None and hmac.compare_digest(key, self.key):
                raise InvalidSeries(
                    "pin_key is the number key: a series' PINs need a key of their own",
                    field="pin_key",
                )
        set_ = object.__setattr__
        set_(self, "pin_length", length)
        set_(self, "pin_attempts", attempts)
        set_(self, "pin_key", key)
        set_(self, "_pins", None if key is None else ((0, pins.pin_state(key, self.code)),))

    def _checked_cipher(
        self, method: Method, key: bytes | None, capacity: int, width: int
    ) -> Cipher:
        """The series' cipher, when the method, key and number space allow it."""
        cipher = Cipher.parse(self.cipher)
        if cipher is Cipher.SIPHASH:
            return cipher
        if not method.keyed:
            raise InvalidSeries.bad(
                "cipher", cipher.value, f"is only for the RANDOM methods, not {method}"
            )
        if capacity < ff1.MIN_DOMAIN:
            raise InvalidSeries.bad(
                "cipher",
                cipher.value,
                f"needs a series of at least {ff1.MIN_DOMAIN:,} numbers (NIST SP 800-38G"
                f" Rev. 1 draft 2: radix ** length >= 1,000,000); series {self.code!r} has"
                f" {capacity:,}",
            )
        if width > ff1.MAX_DIGITS:
            raise InvalidSeries.bad(
                "cipher",
                cipher.value,
                f"takes counters of up to {ff1.MAX_DIGITS} digits, not {width}",
            )
        if key is not None and len(key) not in ff1.KEY_SIZES:
            raise InvalidSeries(
                f"key has {len(key)} bytes; cipher ff1 (AES) takes 16, 24 or 32", field="key"
            )
        return cipher

    @property
    def well_formed(self) -> int:
        """How many strings have the series' shape and a right check character: what a
        guesser who knows the format picks from (``SeriesInfo.guess_chance``). Codes
        that spell a blocked word are left out: a guesser who knows the words skips them."""
        if self._layout.blocked is not None:
            return self._layout.blocked.total
        return int(self.alphabet.base**self.counter_width)

    @property
    def skipped(self) -> int:
        """Counters from the offset left out because their codes spell a blocked word
        (0 without blocked words): ``capacity`` plus this is the space from the offset."""
        return int(self.alphabet.base**self.counter_width) - self.offset - self.capacity

    @property
    def bound(self) -> bool:
        """False for a keyed series whose key is not loaded: it cannot format or parse."""
        return self.key is not None or not self.method.keyed

    def with_key(self, key: bytes) -> CardSeries:
        """This definition bound to ``key``."""
        return dataclasses.replace(self, key=key)

    def with_pin_key(self, pin_key: bytes) -> CardSeries:
        """This definition bound to ``pin_key``, its PINs' key."""
        return dataclasses.replace(self, pin_key=pin_key)

    def with_pin_schedule(self, keys: Sequence[tuple[int, bytes]]) -> CardSeries:
        """This definition with PIN key ``keys[k][1]`` for the cards from index
        ``keys[k][0]`` on (the first from 0: the series' own ``pin_key``), as a store
        records a series moved to new PIN keys (``CardService.rotate_pin_key``)."""
        starts = [start for start, _ in keys]
        if not starts or starts[0] != 0 or starts != sorted(set(starts)):
            raise InvalidArgument.bad("keys", starts, "must start at index 0 and rise")
        bound = dataclasses.replace(self, pin_key=keys[0][1])
        schedule = tuple((start, pins.pin_state(key, self.code)) for start, key in keys)
        object.__setattr__(bound, "_pins", schedule)
        return bound

    def pin(self, index: int) -> str:
        """The PIN of the card at ``index`` (``pin_length`` digits; ``cardseq.pins``)."""
        schedule = self.require_pins()
        return pins.pin(schedule, self.check_index(index), self.pin_length)

    def require_pins(self) -> pins.Schedule:
        """The PINs' keyed schedule: 3000 for a series without PINs, ``KeyNotFound`` when
        its PIN key is not loaded (naming the PIN key id)."""
        if not self.pin_length:
            raise InvalidSeries.bad(
                "pin_length", 0, f"series {self.code!r} has no PINs (pin_length 0)"
            )
        if self._pins is None:
            raise KeyNotFound(
                f"series {self.code!r} has no PIN key loaded (PIN key id"
                f" {self.pin_key_id!r}): give the key sources that key, see docs/security.md",
                field="pin_key_id",
                value=self.pin_key_id,
            )
        return self._pins

    def require_key(self) -> None:
        """``KeyNotFound`` for an unbound series (naming it and its key id)."""
        if not self.bound:
            raise KeyNotFound(
                f"series {self.code!r} has no key loaded (key id {self.key_id!r}):"
                " get it from a store given the key, see docs/security.md",
                field="key_id",
                value=self.key_id,
            )

    def to_dict(self, *, include_key: bool = False) -> dict[str, Any]:
        """The series' configuration (with the key id of a keyed series); the key (hex)
        only when asked for."""
        config: dict[str, Any] = {
            "code": self.code,
            "prefix": self.prefix,
            "suffix": self.suffix,
            "length": self.length,
            "offset": self.offset,
            "method": self.method.value,
        }
        if self.key_id is not None:
            config["key_id"] = self.key_id
        if self.cipher is not Cipher.SIPHASH:
            config["cipher"] = self.cipher.value
        if not self.alphabet.digits:
            config["alphabet"] = self.alphabet.spec
        if self.blocked:
            config["blocked"] = list(self.blocked)
        if self.group:
            config["group"] = self.group
            config["separator"] = self.separator
        if self.pin_length:
            config["pin_length"] = self.pin_length
            config["pin_attempts"] = self.pin_attempts
            if self.pin_key_id is not None:
                config["pin_key_id"] = self.pin_key_id
        if include_key and self.key is not None:
            config["key"] = self.key.hex()
        if include_key and self.pin_key is not None:
            config["pin_key"] = self.pin_key.hex()
        return config

    def check_index(self, index: Any, name: str = "index") -> int:
        """``index`` as an int inside ``[0, capacity)``, or the error naming it."""
        value = as_int(index)
        if value is None or value < 0:
            raise InvalidArgument.bad(name, index, "must be a non-negative integer")
        if value >= self.capacity:
            raise SeriesExhausted.bad(
                name, index, f"is past the end of series {self.code!r} (capacity {self.capacity})"
            )
        return value

    def format(self, index: int) -> str:
        """The number at ``index``."""
        i = self.check_index(index)
        self.require_key()
        layout = self._layout
        if layout.blocked is None:
            value = layout.perm.forward(i) if layout.perm else i
        else:
            value = layout.blocked.counter_at(i) - layout.offset
            if layout.perm:
                value = blocked.walk(layout, layout.perm.forward, layout.perm.forward(value))
        digits = self.alphabet.encode(layout.offset + value, layout.width)
        return f"{self.prefix}{digits}{self._check(digits)}{self.suffix}"

    def _check(self, counter: str) -> str:
        """The check character that follows ``counter`` ("" for a method without)."""
        layout, alpha = self._layout, self.alphabet
        if layout.check == checkdigit.NONE:
            return ""
        if layout.alphabet is None:
            return str(checkdigit.compute(layout.check, layout.check_prefix + counter))
        values = [alpha.symbols.index(c) for c in layout.check_prefix + counter]
        if layout.check == checkdigit.ISO7064:
            return alpha.symbols[alphabets.iso7064(values, alpha.base)]
        if layout.check == checkdigit.DAMM:
            return alpha.symbols[alphabets.damm(values, alpha.base)]
        return alpha.symbols[alphabets.luhn(values, alpha.base)]

    def display(self, number: str) -> str:
        """``number`` as people read it: in groups of ``group`` characters joined by
        ``separator`` (unchanged when the series has no grouping). Parsing leniently
        reads it back."""
        return group(number, self.group, self.separator) if self.group else number

    def parse(self, number: Any, *, lenient: bool = False) -> int:
        """The index of ``number``; ``InvalidNumber`` (with ``.reason``) if it is not one.

        ``lenient``: read ``number`` as a person or a till sent it (``normalize``).
        """
        if lenient:
            number = self.normalize(number)

        def bad(reason: str, why: str) -> InvalidNumber:
            return InvalidNumber(
                f"number {clip(number)} {why}", field="number", value=number, reason=reason
            )

        text = number
        if isinstance(text, (bytes, bytearray)):
            text = text.decode("ascii", "replace")
        if not isinstance(text, str):
            raise bad("type", "is not a string")
        if len(text) != self.length:
            raise bad(
                "length", f"has {len(text)} characters; series {self.code!r} has {self.length}"
            )
        if not text.startswith(self.prefix):
            raise bad("prefix", f"does not start with the prefix {self.prefix!r}")
        if not text.endswith(self.suffix):
            raise bad("suffix", f"does not end with the suffix {self.suffix!r}")
        body = text[len(self.prefix) : self.length - len(self.suffix)]
        if not (body.isascii() and self.alphabet.has(body)):
            if self.alphabet.digits:
                raise bad("digits", f"has a non-digit in its counter {body!r}")
            raise bad(
                "digits", f"has a character outside alphabet {self.alphabet.spec!r}: {body!r}"
            )
        self.require_key()
        layout = self._layout
        digits = body[: layout.width]
        expected = self._check(digits)
        if expected and body[-1] != expected:
            word = "check digit" if self.alphabet.digits else "check character"
            raise bad("check digit", f"has {word} {body[-1]}, expected {expected}")
        counter = self.alphabet.decode(digits)
        if counter < layout.offset:
            raise bad("range", f"has counter {counter}, below the series offset {layout.offset}")
        value = counter - layout.offset
        if layout.blocked is None:
            return layout.perm.inverse(value) if layout.perm else value
        word = layout.blocked.spelled(text)
        if word:
            raise bad("blocked", f"spells the blocked word {word!r}: no code of the series does")
        if layout.perm:
            value = blocked.walk(layout, layout.perm.inverse, layout.perm.inverse(value))
        return layout.blocked.index_of(layout.offset + value)

    def is_valid(self, number: Any, *, lenient: bool = False) -> bool:
        """True when ``number`` is a number of this series. Never raises."""
        try:
            self.parse(number, lenient=lenient)
        except InvalidNumber:
            return False
        return True

    def normalize(self, number: Any) -> Any:
        """``number`` as typed at a till, in this series' form: without separators, white
        space and track-2 framing (``text.normalize``), its prefix and suffix letters in
        the series' case. Not text: returned as it is (``parse`` refuses it)."""
        text = normalize(number)
        if not isinstance(text, str):
            return text
        text = match_affixes(text, self.prefix, self.suffix)
        if self.alphabet.digits or len(text) != self.length:
            return text
        end = self.length - len(self.suffix)
        return (
            text[: len(self.prefix)] + self.alphabet.fold(text[len(self.prefix) : end]) + text[end:]
        )

    def near(self, number: str) -> list[str]:
        """The numbers of this series one typing slip away from ``number`` (read
        leniently): one character of the counter or check replaced, or two neighbours
        swapped. For support staff: ``CardService.suggest`` keeps the issued ones."""
        text = self.normalize(number)
        if not isinstance(text, str) or len(text) != self.length:
            return []
        start, stop = len(self.prefix), self.length - len(self.suffix)
        tries: set[str] = set()
        for at in range(start, stop):
            for symbol in self.alphabet.symbols:
                tries.add(text[:at] + symbol + text[at + 1 :])
            if at + 1 < stop:
                tries.add(text[:at] + text[at + 1] + text[at] + text[at + 2 :])
        tries.discard(text)
        return sorted(t for t in tries if self.is_valid(t))

    def parse_many(self, numbers: Any, *, lenient: bool = False) -> Parsed:
        """The indexes of many numbers, and why each invalid one is not of the series.

        ``numbers``: a NumPy array of dtype ``S`` or ``U``, or a list of ``str``/``bytes``.
        The same answers as ``parse`` one at a time, in ``Parsed`` arrays (``bulk``);
        never raises for a number. ``lenient`` normalizes each number first, in Python.
        """
        if lenient:
            items = numbers.tolist() if isinstance(numbers, np.ndarray) else numbers
            numbers = [self.normalize(number) for number in items]
        return bulk.parse_many(self, numbers)

    def is_valid_many(self, numbers: Any, *, lenient: bool = False) -> np.ndarray:
        """A bool array: which of ``numbers`` are numbers of this series (``parse_many``)."""
        return self.parse_many(numbers, lenient=lenient).valid

    @property
    def pattern(self) -> str:
        """The number's shape: see :func:`number_pattern`."""
        return number_pattern(self.prefix, self.suffix, self.length, coded=not self.alphabet.digits)

    def overlaps(self, other: CardSeries) -> bool:
        """Whether a number could be read as one of both series, strictly or leniently:
        see :func:`readings_overlap` (a store refuses such a pair, 3006)."""
        return readings_overlap(self.pattern, other.pattern)

    def block(self, start: int, count: int) -> Block:
        """The numbers at indexes ``[start, start + count)`` (reserves nothing)."""
        from .block import Block

        return Block(self, start, count)

"""Input rules of the web app, in one place: text, numbers, ids, file names, CSV cells, error messages.

Every request field goes through one of these rules before it reaches the database, so bad input is a 404 or a
422 naming the field, never a 500:

* **Text** (``SafeText``): NUL, the other C0/C1 control characters and lone surrogates are refused with the
  character and its position (tab, and in multi-line fields newline and carriage return, are allowed).
  PostgreSQL cannot store NUL at all, and a control character shown in HTML or a CSV file is never what its
  author meant. Bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E/F, U+061C) are stored as sent,
  since a right-to-left name is legitimate text, but shown as visible ``[U+202E]`` marks
  (``neutralise_bidi``) so a participant always sees what is stored, and listed for the admin (``has_bidi``).
* **Numbers**: strict types (JSON ``true`` is not strength 1) and finite floats (NaN is refused as "not a
  finite number", not as "less than 0.5").
* **Ids** (``id_in_range``): a row id outside what the database's integer columns hold (SQLite: 64-bit,
  PostgreSQL: 32-bit) cannot name a row, so it is answered as "not found" before any query is sent.
* **Downloads**: ``content_disposition`` writes RFC 6266 headers with an ASCII fallback and an RFC 5987
  ``filename*`` for any other name.
* **CSV**: ``csv_cell`` neutralises formula injection as OWASP advises: a text cell that starts with ``=``,
  ``+``, ``-``, ``@``, tab or carriage return is prefixed with a single quote.
* **Errors**: ``friendly`` turns Pydantic's validation errors into one plain sentence per field, without
  Pydantic's internals or documentation links.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "BIDI_CONTROLS",
    "ChatIn",
    "InviteIn",
    "RevokeIn",
    "MAX_ID",
    "PARTICIPANT_ID",
    "SafeLine",
    "SafeText",
    "TextError",
    "check_text",
    "content_disposition",
    "csv_cell",
    "form_float",
    "form_int",
    "friendly",
    "has_bidi",
    "id_in_range",
    "neutralise_bidi",
]

# Largest id each database's Integer primary keys can hold (SQLAlchemy Integer: SQLite's 64-bit INTEGER,
# PostgreSQL's 32-bit integer).
MAX_ID = {"sqlite": 2**63 - 1, "postgresql": 2**31 - 1}
PARTICIPANT_ID = re.compile(r"^[aei][0-9]{4,9}$")
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
_CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


class TextError(ValueError):
    """A text field holds a character the app does not accept; the message says which and where."""


def _refused(ch: str, multiline: bool) -> bool:
    code = ord(ch)
    if ch == "\t" or (multiline and ch in "\n\r"):
        return False
    return code < 0x20 or 0x7F <= code <= 0x9F or 0xD800 <= code <= 0xDFFF


def check_text(value: str, *, multiline: bool = True) -> str:
    """``value`` unchanged, or ``TextError`` naming the first refused character and its position."""
    for i, ch in enumerate(value):
        if _refused(ch, multiline):
            name = unicodedata.name(ch, "a control character") if not 0xD800 <= ord(ch) <= 0xDFFF \
                else "a lone surrogate"
            raise TextError(f"contains U+{ord(ch):04X} ({name.lower()}) at position {i}; control characters "
                            "are not accepted, remove it")
    return value


def _multiline(v: str) -> str:
    return check_text(v, multiline=True)


def _line(v: str) -> str:
    return check_text(v, multiline=False)


def SafeText(max_length: int) -> Any:  # noqa: N802 - a type factory, used like a type
    """A multi-line text field of at most ``max_length`` characters (Pydantic annotation)."""
    return Annotated[str, Field(max_length=max_length), AfterValidator(_multiline)]


def SafeLine(max_length: int, min_length: int = 0) -> Any:  # noqa: N802
    """A one-line text field (names, ids) of at most ``max_length`` characters."""
    return Annotated[str, Field(min_length=min_length, max_length=max_length), AfterValidator(_line)]


class ChatIn(BaseModel):
    """A chat message (the study's ``limits.chat_chars`` is checked after, with the limit named)."""

    model_config = ConfigDict(extra="forbid")
    message: SafeText(10_000)  # type: ignore[valid-type]


class InviteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["admin", "expert", "annotator"]
    name: SafeLine(100) = ""  # type: ignore[valid-type]


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: SafeLine(200) = "revoked by an admin"  # type: ignore[valid-type]


def has_bidi(text: str | None) -> bool:
    return bool(text) and any(ch in BIDI_CONTROLS for ch in text)  # type: ignore[union-attr]


def neutralise_bidi(text: str | None) -> str:
    """``text`` with every bidirectional control shown as a visible ``[U+XXXX]`` mark (for display)."""
    if not text:
        return text or ""
    if not has_bidi(text):
        return text
    return "".join(f"[U+{ord(ch):04X}]" if ch in BIDI_CONTROLS else ch for ch in text)


def id_in_range(value: int, dialect: str) -> bool:
    """Whether ``value`` can be a row id in a database of ``dialect`` (ids start at 1)."""
    return 1 <= value <= MAX_ID.get(dialect, 2**31 - 1)


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    """An RFC 6266 header value: an ASCII ``filename`` fallback and, if needed, an RFC 5987 ``filename*``."""
    ascii_name = "".join(ch if 0x20 <= ord(ch) < 0x7F and ch not in '"\\;' else "_" for ch in filename)
    value = f'{disposition}; filename="{ascii_name}"'
    if ascii_name != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


def csv_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula (OWASP: prefix with a single quote)."""
    if isinstance(value, str) and value.startswith(_CSV_TRIGGERS):
        return "'" + value
    return value


def form_int(raw: str, lo: int, hi: int) -> int:
    """A whole number from a form field, in [lo, hi]; ``ValueError`` with a plain message otherwise."""
    text = raw.strip()
    if not re.fullmatch(r"[+-]?[0-9]{1,6}", text):
        raise ValueError(f"must be a whole number from {lo} to {hi}, got {raw[:20]!r}")
    value = int(text)
    if not lo <= value <= hi:
        raise ValueError(f"must be a whole number from {lo} to {hi}, got {value}")
    return value


def form_float(raw: str, lo: float, hi: float) -> float:
    """A finite number from a form field, in [lo, hi]; ``ValueError`` with a plain message otherwise."""
    try:
        value = float(raw.strip()[:40])
    except ValueError:
        raise ValueError(f"must be a number from {lo} to {hi}, got {raw[:20]!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number from {lo} to {hi}, got {raw[:20]!r}")
    if not lo <= value <= hi:
        raise ValueError(f"must be a number from {lo} to {hi}, got {value:g}")
    return value


_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a field this request accepts",
    "int_type": "must be a whole number (not true/false, not a string, not a fraction)",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number, not a fraction",
    "float_type": "must be a number (not true/false, not a string)",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number (not NaN or infinity)",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "string_unicode": "holds a lone surrogate (U+D800-U+DFFF), which is not text; remove it",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
}


def _where(loc: tuple[Any, ...]) -> str:
    parts = [str(x) for x in loc]
    if parts and parts[0] in ("body", "path", "query", "form") and len(parts) > 1:
        parts = parts[1:]
    return ".".join(parts) or "body"


def friendly(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One plain ``{"where", "message"}`` per Pydantic error (no internals, no documentation links)."""
    out = []
    for err in errors:
        kind, ctx = err.get("type", ""), err.get("ctx") or {}
        if kind == "json_invalid":
            loc = tuple(err.get("loc", ()))
            at = f" at character {loc[-1]}" if loc and isinstance(loc[-1], int) else ""
            why = ctx.get("error", "malformed")
            out.append({"where": "body", "message": f"is not valid JSON ({why}){at}"})
            continue
        if kind in _MESSAGES:
            msg = _MESSAGES[kind]
        elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
            bound = next(iter(ctx.values()), "?")
            msg = {"greater_than_equal": "must be at least", "greater_than": "must be more than",
                   "less_than_equal": "must be at most", "less_than": "must be less than"}[kind] + f" {bound}"
        elif kind == "string_too_long":
            msg = f"is too long: at most {ctx.get('max_length')} characters"
        elif kind == "string_too_short":
            msg = f"is too short: at least {ctx.get('min_length')} characters"
        elif kind in ("too_long", "too_short"):
            msg = f"must have {'at most' if kind == 'too_long' else 'at least'} " \
                  f"{ctx.get('max_length', ctx.get('min_length'))} entries"
        elif kind == "literal_error":
            msg = f"must be one of {ctx.get('expected', '')}"
        elif kind == "string_pattern_mismatch":
            msg = "has characters that are not allowed here (letters, digits, _ . - only)"
        elif kind == "value_error":
            msg = str(ctx.get("error", err.get("msg", "is not valid")))
        else:
            msg = str(err.get("msg", "is not valid")).removeprefix("Value error, ")
        out.append({"where": _where(tuple(err.get("loc", ()))), "message": msg})
    return out

"""Input rules the real API enforces: subscribe-message keyword values (§4) and QR scenes (§5).

Lengths are counted in Unicode code points, as WeChat counts "characters".
"""

import re

KEYWORD_TYPES = {
    "thing", "number", "letter", "symbol", "character_string", "time", "date",
    "amount", "phone_number", "car_number", "name", "phrase", "enum",
}


def is_cjk(ch):
    cp = ord(ch)
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF
            or 0x20000 <= cp <= 0x2EBEF)


def _is_symbol(ch):
    return not ch.isalnum() and not ch.isspace() and not is_cjk(ch) and ch.isprintable()


_MONTH = r"(0?[1-9]|1[0-2])"
_DAY = r"(0?[1-9]|[12]\d|3[01])"
_DATE = (rf"(\d{{4}}年{_MONTH}月{_DAY}日|\d{{4}}-{_MONTH}-{_DAY}|\d{{4}}/{_MONTH}/{_DAY}"
         rf"|\d{{4}}\.{_MONTH}\.{_DAY}|{_MONTH}月{_DAY}日)")
_CLOCK = r"([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?"
_TIME_RE = re.compile(rf"({_DATE}\s*)?{_CLOCK}")
_DATE_RE = re.compile(rf"{_DATE}(\s*{_CLOCK})?")
_AMOUNT_RE = re.compile(r"[¥￥$€£]?\d{1,10}(\.\d{1,2})?元?")
_NUMBER_RE = re.compile(r"-?\d+(\.\d+)?")


def _range_of(pattern, value):
    """time/date values may be a range 'A~B'."""
    parts = value.split("~")
    return len(parts) <= 2 and all(pattern.fullmatch(p.strip()) for p in parts)


def _car_number(value):
    if not 1 <= len(value) <= 8:
        return False
    inner = value[1:-1] if len(value) > 2 else ""
    ends = (value[0], value[-1])
    return (all(c.isascii() and c.isalnum() for c in inner)
            and all(is_cjk(c) or (c.isascii() and c.isalnum()) for c in ends))


def _name(value):
    if any(is_cjk(c) for c in value):  # mixed text counts as CJK: 10 max
        return len(value) <= 10 and all(is_cjk(c) or c.isalpha() or _is_symbol(c) or c == " "
                                        for c in value)
    return len(value) <= 20 and all((c.isascii() and c.isalpha()) or _is_symbol(c) or c == " "
                                    for c in value)


_CHECKS = {
    "thing": lambda v: len(v) <= 20 and v.isprintable(),
    "number": lambda v: len(v) <= 32 and bool(_NUMBER_RE.fullmatch(v)),
    "letter": lambda v: len(v) <= 32 and v.isascii() and v.isalpha(),
    "symbol": lambda v: len(v) <= 5 and all(_is_symbol(c) for c in v),
    # digits/letters/symbols only: printable ASCII, so no CJK
    "character_string": lambda v: len(v) <= 32 and all(" " <= c <= "~" for c in v),
    "time": lambda v: _range_of(_TIME_RE, v),
    "date": lambda v: _range_of(_DATE_RE, v),
    "amount": lambda v: bool(_AMOUNT_RE.fullmatch(v)),
    "phone_number": lambda v: (len(v) <= 17 and any(c.isdigit() for c in v)
                               and all(c.isdigit() or (" " <= c <= "~" and not c.isalnum())
                                       for c in v)),
    "car_number": _car_number,
    "name": _name,
    "phrase": lambda v: len(v) <= 5 and all(is_cjk(c) for c in v),
}


def value_ok(spec, value):
    """True if the non-empty string value satisfies the keyword spec
    (a type name, or a list of allowed values for enum)."""
    if isinstance(spec, list):
        return value in spec
    check = _CHECKS.get(spec)
    return check is not None and check(value)


def type_from_key(key):
    """'thing1' -> 'thing', 'character_string12' -> 'character_string'."""
    return re.sub(r"\d+$", "", key)


def normalize_template(spec):
    """Accept {key: type|[enum values]} or [key, ...] (types taken from the key names).

    Raises ValueError on unknown types, so bad config fails loudly.
    """
    if isinstance(spec, list):
        spec = {key: type_from_key(key) for key in spec}
    if not isinstance(spec, dict) or not spec:
        raise ValueError("a template must be a non-empty {key: type} object or [key, ...] list")
    for key, kind in spec.items():
        if isinstance(kind, list):
            if not all(isinstance(v, str) for v in kind):
                raise ValueError(f"enum values of {key} must be strings")
        elif kind not in KEYWORD_TYPES or kind == "enum":
            raise ValueError(f"unknown keyword type {kind!r} for {key} (enum: give a list)")
    return dict(spec)


# QR scene: at most 32 visible chars from this set; '%' is not allowed.
SCENE_CHARS = frozenset(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$&'()*+,/:;=?@-._~")
SCENE_MAX = 32


def scene_error(scene):
    """None if the scene is valid, else the errcode (40169 length/type, 40129 charset)."""
    if not isinstance(scene, str) or not 1 <= len(scene) <= SCENE_MAX:
        return 40169
    if any(c not in SCENE_CHARS for c in scene):
        return 40129
    return None

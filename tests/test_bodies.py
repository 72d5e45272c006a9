"""The one strict reader of request bodies (astapa/web/bodies.py): RFC 8259 JSON in UTF-8
without repeated members or non-numbers, forms without repeated fields (RFC 6749 §3.1)."""

import pytest

from astapa.web import bodies
from astapa.web.bodies import BodyError, form_pairs, json_value


@pytest.mark.parametrize("body, reason", [
    (b'{"a": 1, "a": 2}', bodies.REPEATED),
    (b'{"a": {"b": 1, "b": 1}}', bodies.REPEATED),
    (b'{"a": NaN}', bodies.SYNTAX),
    (b'{"a": -Infinity}', bodies.SYNTAX),
    (b'{"a": 1e400}', bodies.SYNTAX),
    (b'{"a": 1', bodies.SYNTAX),
    (b"[" * 100_000 + b"]" * 100_000, bodies.SYNTAX),
    (b"\xef\xbb\xbf{}", bodies.SYNTAX),  # a byte order mark is not JSON text
    (b'{"a": "\xff"}', bodies.ENCODING),
    ('{"a": 1}'.encode("utf-16"), bodies.ENCODING),
    (b"[]", bodies.TYPE),
    (b'"a"', bodies.TYPE),
])
def test_json_that_is_not_strictly_json_is_refused(body, reason):
    with pytest.raises(BodyError) as refused:
        json_value(body)
    assert refused.value.reason == reason


def test_json_keeps_its_values():
    assert json_value(b'{"a": [1, 2.5, null, true, "\\u00e9"], "b": {}}') == {"a": [1, 2.5, None, True, "é"], "b": {}}
    assert json_value(b"null", kind=None) is None
    assert json_value(b"[1]", kind=list) == [1]


def test_a_form_field_may_repeat_only_when_allowed():
    with pytest.raises(BodyError) as refused:
        form_pairs(b"a=1&b=2&a=3")
    assert refused.value.reason == bodies.REPEATED and refused.value.description == "parameter 'a' is repeated"
    assert form_pairs(b"resource=x&resource=y", repeatable=frozenset({"resource"})) == [
        ("resource", "x"), ("resource", "y")]
    assert form_pairs(b"a=1&a=2", repeatable=None) == [("a", "1"), ("a", "2")]


@pytest.mark.parametrize("body, reason", [
    (b"a=%FF", bodies.ENCODING),
    (b"a=\xff", bodies.ENCODING),
    (b"&".join(b"f%d=1" % i for i in range(bodies.MAX_FIELDS + 1)), bodies.TOO_MANY),
])
def test_a_form_that_is_not_utf_8_or_too_long_is_refused(body, reason):
    with pytest.raises(BodyError) as refused:
        form_pairs(body)
    assert refused.value.reason == reason


def test_a_form_keeps_blank_values_and_order():
    assert form_pairs(b"b=&a=x+y&c=%C3%A9") == [("b", ""), ("a", "x y"), ("c", "é")]

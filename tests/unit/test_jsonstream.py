"""JSONArrayDecoder: element splitting, string/escape state across chunks, framing errors."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.chunking import split_at
from zerogravity_proxy.gemini.errors import JSONStreamError
from zerogravity_proxy.gemini.jsonstream import JSONArrayDecoder


def decode(data: bytes, **kwargs: int) -> list[bytes]:
    decoder = JSONArrayDecoder(**kwargs)
    return decoder.feed(data) + decoder.close()


def decode_chunks(chunks: list[bytes], **kwargs: int) -> list[bytes]:
    decoder = JSONArrayDecoder(**kwargs)
    out: list[bytes] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.close()


GEMINI_STREAM = (
    b'[{\n  "candidates": [{"content": {"parts": [{"text": "Hi {there}"}]}}]\n}\n'
    b',\r\n{\n  "candidates": [{"content": {"parts": [{"text": "\\"]\\\\"}]},'
    b' "finishReason": "STOP"}]\n}\n]'
)


def test_streamed_array_yields_each_element_verbatim() -> None:
    assert decode(GEMINI_STREAM) == [
        b'{\n  "candidates": [{"content": {"parts": [{"text": "Hi {there}"}]}}]\n}',
        b'{\n  "candidates": [{"content": {"parts": [{"text": "\\"]\\\\"}]},'
        b' "finishReason": "STOP"}]\n}',
    ]


def test_one_byte_chunks_match_one_feed() -> None:
    chunks = [GEMINI_STREAM[i : i + 1] for i in range(len(GEMINI_STREAM))]
    assert decode_chunks(chunks) == decode(GEMINI_STREAM)


def test_elements_are_yielded_as_soon_as_complete() -> None:
    decoder = JSONArrayDecoder()
    assert decoder.feed(b'[{"a": 1}') == [b'{"a": 1}']
    assert decoder.feed(b', {"b": [') == []
    assert decoder.feed(b"2]}") == [b'{"b": [2]}']
    assert decoder.feed(b"]\n") == []
    assert decoder.close() == []


def test_escape_split_from_its_character() -> None:
    assert decode_chunks([b'[{"a": "x\\', b'"}"}]']) == [b'{"a": "x\\"}"}']
    assert decode_chunks([b'[{"a": "x\\\\', b'"}]']) == [b'{"a": "x\\\\"}']


def test_single_object_body() -> None:
    decoder = JSONArrayDecoder()
    assert decoder.feed(b'  {"response": {"candidates": []}') == []
    assert decoder.feed(b', "traceId": "t"}\n') == [
        b'{"response": {"candidates": []}, "traceId": "t"}'
    ]
    assert decoder.close() == []


def test_empty_array_and_empty_body() -> None:
    assert decode(b"[ ]") == []
    assert decode(b"") == []
    assert decode(b" \r\n") == []


def test_missing_closing_bracket_is_tolerated() -> None:
    assert decode(b'[{"a": 1},\n') == [b'{"a": 1}']


def test_non_ascii_split_inside_a_character() -> None:
    data = '[{"t": "Grüße 🎉"}]'.encode()
    cut = data.index("🎉".encode()) + 1
    assert decode_chunks([data[:cut], data[cut:]]) == ['{"t": "Grüße 🎉"}'.encode()]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[1]", r"unexpected '1' in JSON stream \(FIRST\)"),
        (b'[{"a": 1}}', r"unexpected '}' in JSON stream \(SEPARATOR\)"),
        (b'[{"a": 1},]', r"unexpected '\]' in JSON stream \(NEXT\)"),
        (b'{"a": 1}{"b": 2}', r"unexpected '{' in JSON stream \(END\)"),
        (b'[{"a": 1}] x', r"unexpected 'x' in JSON stream \(END\)"),
        (b"<html>", r"unexpected '<' in JSON stream \(VALUE\)"),
        (b'[{"a": "}', "body ended inside a JSON element"),
    ],
)
def test_malformed_framing_raises(body: bytes, message: str) -> None:
    with pytest.raises(JSONStreamError, match=message):
        decode(body)


def test_element_over_the_limit_raises() -> None:
    decoder = JSONArrayDecoder(max_event_size=16)
    assert decoder.feed(b'[{"a": "0123456') == []
    with pytest.raises(JSONStreamError, match="JSON element exceeds 16 bytes"):
        decoder.feed(b"789")


# --- properties -----------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)
_objects = st.lists(st.dictionaries(st.text(max_size=8), _json, max_size=4), max_size=5)


def encode_array(objects: list[dict[str, Any]], indent: bool) -> bytes:
    option = orjson.OPT_INDENT_2 if indent else 0
    return b"[" + b",\r\n".join(orjson.dumps(o, option=option) for o in objects) + b"]"


@given(_objects, st.booleans(), st.lists(st.integers(min_value=0, max_value=600), max_size=12))
def test_any_chunking_yields_the_original_objects(
    objects: list[dict[str, Any]], indent: bool, cuts: list[int]
) -> None:
    data = encode_array(objects, indent)
    elements = decode_chunks(split_at(data, cuts))
    assert [orjson.loads(e) for e in elements] == objects
    assert elements == decode(data)


@given(st.binary(max_size=300), st.lists(st.integers(min_value=0, max_value=300), max_size=8))
def test_arbitrary_bytes_only_raise_stream_errors(data: bytes, cuts: list[int]) -> None:
    try:
        whole = decode(data, max_event_size=128)
    except JSONStreamError:
        return
    assert decode_chunks(split_at(data, cuts), max_event_size=128) == whole

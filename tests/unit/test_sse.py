"""SSEDecoder: WHATWG line rules, Gemini's deviations, bounds, and chunking invariance."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.chunking import split_at
from zerogravity_proxy.gemini.errors import SSEProtocolError
from zerogravity_proxy.gemini.sse import SSEDecoder


def decode(data: bytes, **kwargs: int) -> list[str]:
    decoder = SSEDecoder(**kwargs)
    return decoder.feed(data) + decoder.close()


def decode_chunks(chunks: list[bytes], **kwargs: int) -> list[str]:
    decoder = SSEDecoder(**kwargs)
    out: list[str] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.close()


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_line_endings(eol: bytes) -> None:
    stream = b"data: one" + eol + eol + b"data: two" + eol + b"data: three" + eol + eol
    assert decode(stream) == ["one", "two\nthree"]


def test_dispatch_happens_on_the_blank_line_not_before() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a":1}\n') == []
    assert decoder.feed(b"\n") == ['{"a":1}']
    assert decoder.close() == []


def test_strips_exactly_one_leading_space() -> None:
    assert decode(b"data:x\n\ndata: x\n\ndata:  x\n\n") == ["x", "x", " x"]


def test_comments_and_other_fields_are_ignored() -> None:
    stream = b": ping\nevent: message\nid: 7\nretry: 100\ndatafoo: no\ndata: yes\n\n"
    assert decode(stream) == ["yes"]


def test_bare_data_field_adds_an_empty_line() -> None:
    assert decode(b"data\ndata: x\n\n") == ["\nx"]


def test_empty_payloads_are_not_dispatched() -> None:
    assert decode(b"event: x\n\ndata:\n\ndata: \n\n: c\n\n\n\n") == []


def test_done_sentinel_is_skipped() -> None:
    assert decode(b"data: a\n\ndata: [DONE]\n\n") == ["a"]


def test_leading_bom_is_ignored_only_at_stream_start() -> None:
    assert decode(b"\xef\xbb\xbfdata: a\n\n\xef\xbb\xbfdata: b\n\n") == ["a"]


def test_bom_split_across_feeds() -> None:
    assert decode_chunks([b"\xef", b"\xbb", b"\xbfda", b"ta: a\n\n"]) == ["a"]


def test_close_dispatches_an_unterminated_event() -> None:
    assert decode(b"data: a\n\ndata: b") == ["a", "b"]
    assert decode(b"data: a\n\ndata: b\n") == ["a", "b"]
    assert decode(b"data: a\r") == ["a"]


def test_crlf_split_between_feeds_is_one_line_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\ndata: b\r") == []
    assert decoder.feed(b"\n\r") == ["a\nb"]
    assert decoder.feed(b"\n") == []
    assert decoder.close() == []


def test_cr_then_cr_is_a_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\r") == ["a"]


def test_unicode_line_separators_are_not_line_breaks() -> None:
    payload = '{"text":"a\u2028b\u2029c\x85d"}'
    assert decode(b"data: " + payload.encode() + b"\n\n") == [payload]


def test_non_ascii_split_inside_a_character() -> None:
    data = 'data: {"text":"Grüße 🎉"}\n\n'.encode()
    cut = data.index("🎉".encode()) + 2
    assert decode_chunks([data[:cut], data[cut:]]) == ['{"text":"Grüße 🎉"}']


def test_bare_json_lines_form_one_payload() -> None:
    body = b'[{\n  "error": {\n    "code": 429,\n    "status": "RESOURCE_EXHAUSTED"\n  }\n}\n]\n'
    stream = b"data: a\n\n" + body + b"\ndata: b\n\n"
    expected_body = (
        '[{\n  "error": {\n    "code": 429,\n    "status": "RESOURCE_EXHAUSTED"\n  }\n}\n]'
    )
    assert decode(stream) == ["a", expected_body, "b"]


def test_bare_json_at_eof_is_dispatched_on_close() -> None:
    assert decode(b'{"error": {"code": 500}}\r\n') == ['{"error": {"code": 500}}']


def test_pending_line_over_the_limit_raises() -> None:
    decoder = SSEDecoder(max_event_size=16)
    assert decoder.feed(b"data: 0123456789") == []
    with pytest.raises(SSEProtocolError, match="SSE line exceeds 16 bytes"):
        decoder.feed(b"x")


def test_event_over_the_limit_raises() -> None:
    with pytest.raises(SSEProtocolError, match="SSE event exceeds 16 bytes"):
        decode(b"data: 01234567\ndata: 01234567\n", max_event_size=16)


def test_invalid_utf8_raises() -> None:
    with pytest.raises(SSEProtocolError, match="not UTF-8"):
        decode(b"data: \xff\xfe\n\n")


def test_empty_feed_keeps_a_pending_cr() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\n\n") == ["a"]


# --- properties -----------------------------------------------------------------------------

_value = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"), max_size=20
)
_eol = st.sampled_from([b"\n", b"\r\n", b"\r"])


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """A stream of random events (mixed line endings, comments, BOM) and its payloads."""
    out = [b"\xef\xbb\xbf"] if draw(st.booleans()) else []
    expected: list[str] = []
    for lines in draw(st.lists(st.lists(_value, min_size=1, max_size=3), max_size=6)):
        if draw(st.booleans()):
            out += [b": keep-alive", draw(_eol)]
        for value in lines:
            out += [b"data: ", value.encode(), draw(_eol)]
        blank = draw(_eol)
        out.append(b"\r\n" if out[-1] == b"\r" and blank == b"\n" else blank)  # not one CRLF
        payload = "\n".join(lines)
        if payload and payload != "[DONE]":
            expected.append(payload)
    return b"".join(out), expected


@given(streams(), st.lists(st.integers(min_value=0, max_value=400), max_size=12))
def test_any_chunking_gives_the_expected_payloads(
    stream: tuple[bytes, list[str]], cuts: list[int]
) -> None:
    data, expected = stream
    assert decode(data) == expected
    assert decode_chunks(split_at(data, cuts)) == expected


@given(streams())
def test_one_byte_chunks(stream: tuple[bytes, list[str]]) -> None:
    data, expected = stream
    assert decode_chunks([data[i : i + 1] for i in range(len(data))]) == expected


@given(st.binary(max_size=300), st.lists(st.integers(min_value=0, max_value=300), max_size=8))
def test_arbitrary_bytes_only_raise_protocol_errors(data: bytes, cuts: list[int]) -> None:
    try:
        whole = decode(data, max_event_size=128)
    except SSEProtocolError:
        return
    assert all(isinstance(p, str) for p in whole)
    assert decode_chunks(split_at(data, cuts), max_event_size=128) == whole

"""gRPC framing (chunking, compression, bounds) and status trailers against Google's encodings."""

from __future__ import annotations

import base64
import gzip
import struct
import tracemalloc
import zlib
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped, unused-ignore]
from hypothesis import given
from hypothesis import strategies as st

from tests.chunking import split_at
from zerogravity_proxy.events import UpstreamError
from zerogravity_proxy.gemini.errors import DecodeError, error_from_object
from zerogravity_proxy.gemini.grpc import (
    GRPC_CODES,
    GRPC_HTTP_STATUS,
    GrpcFramingError,
    GrpcMessageDecoder,
    encode_message,
    percent_decode,
    percent_encode,
    status_error,
)

MiB = 1024 * 1024


def decode(data: bytes, encoding: str | None = "gzip", **kwargs: int) -> list[bytes]:
    decoder = GrpcMessageDecoder(encoding, **kwargs)
    return decoder.feed(data) + decoder.close()


def decode_chunks(chunks: list[bytes], encoding: str | None = "gzip", **kwargs: int) -> list[bytes]:
    decoder = GrpcMessageDecoder(encoding, **kwargs)
    out: list[bytes] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.close()


def prefix(flag: int, length: int) -> bytes:
    return struct.pack(">BI", flag, length)


def framed(flag: int, body: bytes) -> bytes:
    return prefix(flag, len(body)) + body


# --- framing --------------------------------------------------------------------------------


def test_encode_message_layout() -> None:
    assert encode_message(b"abc") == b"\x00\x00\x00\x00\x03abc"
    compressed = encode_message(b"abc" * 100, compress=True)
    assert compressed[0] == 1
    assert int.from_bytes(compressed[1:5]) == len(compressed) - 5
    assert gzip.decompress(compressed[5:]) == b"abc" * 100
    assert compressed == encode_message(b"abc" * 100, compress=True)  # no timestamp inside


def test_several_messages_in_one_feed_including_empty_ones() -> None:
    stream = encode_message(b"") + encode_message(b"one") + encode_message(b"", compress=True)
    assert decode(stream + encode_message(b"two", compress=True)) == [b"", b"one", b"", b"two"]


def test_messages_are_yielded_as_soon_as_complete() -> None:
    decoder = GrpcMessageDecoder(None)
    assert decoder.feed(b"\x00\x00\x00") == []
    assert decoder.feed(b"\x00\x02h") == []
    assert decoder.feed(b"i\x00\x00\x00\x00\x00") == [b"hi", b""]
    assert decoder.close() == []


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("GZIP ", gzip.compress),
        ("deflate", zlib.compress),
    ],
)
def test_supported_encodings(encoding: str, compress: Any) -> None:
    assert decode(framed(1, compress(b"payload")) + framed(0, b"raw"), encoding) == [
        b"payload",
        b"raw",
    ]


def test_concatenated_gzip_members_are_one_message() -> None:
    assert decode(framed(1, gzip.compress(b"ab") + gzip.compress(b"cd"))) == [b"abcd"]


def test_uncompressed_messages_need_no_supported_encoding() -> None:
    assert decode(encode_message(b"x"), "snappy") == [b"x"]


@pytest.mark.parametrize("encoding", [None, "identity", "snappy"])
def test_compressed_flag_without_a_usable_encoding_raises(encoding: str | None) -> None:
    decoder = GrpcMessageDecoder(encoding)
    with pytest.raises(GrpcFramingError, match="compressed gRPC message with grpc-encoding"):
        decoder.feed(prefix(1, 20))  # refused at the prefix, before the body arrives


def test_invalid_flag_raises_on_its_first_byte() -> None:
    decoder = GrpcMessageDecoder("gzip")
    assert decoder.feed(encode_message(b"ok")) == [b"ok"]
    with pytest.raises(GrpcFramingError, match="invalid gRPC compressed flag 2"):
        decoder.feed(b"\x02")


def test_framing_error_is_a_decode_error() -> None:
    assert issubclass(GrpcFramingError, DecodeError)


def test_oversized_length_is_refused_before_its_body_is_buffered() -> None:
    decoder = GrpcMessageDecoder(None, max_message_size=1024)
    with pytest.raises(GrpcFramingError, match="gRPC message of 1025 bytes exceeds 1024 bytes"):
        decoder.feed(prefix(0, 1025))
    with pytest.raises(GrpcFramingError, match="4294967295 bytes exceeds"):
        GrpcMessageDecoder(None).feed(prefix(0, 0xFFFFFFFF))


def test_message_of_exactly_the_limit_is_accepted() -> None:
    assert decode(encode_message(b"x" * 64), max_message_size=64) == [b"x" * 64]
    body = gzip.compress(b"y" * 64)
    assert decode(framed(1, body), max_message_size=64) == [b"y" * 64]
    with pytest.raises(GrpcFramingError, match="decompressed gRPC message exceeds 63 bytes"):
        decode(framed(1, body), max_message_size=63)


def test_decompression_bomb_stops_at_the_limit() -> None:
    bomb = gzip.compress(bytes(64 * MiB), compresslevel=9)  # ~64 KiB on the wire
    assert len(bomb) < 128 * 1024
    decoder = GrpcMessageDecoder("gzip", max_message_size=MiB)
    tracemalloc.start()
    try:
        with pytest.raises(GrpcFramingError, match=f"decompressed gRPC message exceeds {MiB}"):
            decoder.feed(framed(1, bomb))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * MiB  # not the 64 MiB the bomb expands to


def test_bomb_in_a_second_gzip_member_is_stopped_too() -> None:
    body = gzip.compress(bytes(600)) + gzip.compress(bytes(600))
    with pytest.raises(GrpcFramingError, match="exceeds 1000 bytes"):
        decode(framed(1, body), max_message_size=1000)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not gzip at all", "corrupt gzip gRPC message"),
        (gzip.compress(b"payload")[:-6], "truncated gzip gRPC message"),
        (b"", "truncated gzip gRPC message"),
        (gzip.compress(b"payload") + b"junk", "corrupt gzip gRPC message"),
    ],
)
def test_corrupt_compressed_data_raises(body: bytes, message: str) -> None:
    with pytest.raises(GrpcFramingError, match=message):
        decode(framed(1, body))


def test_deflate_with_trailing_bytes_raises() -> None:
    with pytest.raises(GrpcFramingError, match="trailing bytes after deflate"):
        decode(framed(1, zlib.compress(b"x") + b"\x00"), "deflate")


def test_truncated_stream_raises_on_close() -> None:
    stream = encode_message(b"first") + encode_message(b"second")
    decoder = GrpcMessageDecoder(None)
    assert decoder.feed(stream[:-3]) == [b"first"]
    with pytest.raises(GrpcFramingError, match=r"inside a gRPC message \(3 of 6 bytes\)"):
        decoder.close()
    decoder = GrpcMessageDecoder(None)
    assert decoder.feed(stream[:13]) == [b"first"]
    with pytest.raises(GrpcFramingError, match=r"inside a gRPC message prefix \(3 of 5 bytes\)"):
        decoder.close()
    decoder = GrpcMessageDecoder(None)
    assert decoder.feed(stream[:15]) == [b"first"]
    with pytest.raises(GrpcFramingError, match=r"inside a gRPC message \(0 of 6 bytes\)"):
        decoder.close()


def test_one_byte_feeds_of_a_big_message() -> None:
    body = bytes(range(256)) * 1024
    stream = encode_message(body) + encode_message(body, compress=True)
    assert decode_chunks([stream[i : i + 1] for i in range(len(stream))]) == [body, body]


# --- framing properties ---------------------------------------------------------------------

_messages = st.lists(st.tuples(st.binary(max_size=200), st.booleans()), max_size=8)
_encodings = st.sampled_from([None, "identity", "gzip", "deflate", "snappy"])


def encode_stream(messages: list[tuple[bytes, bool]]) -> bytes:
    return b"".join(encode_message(m, compress=c) for m, c in messages)


@given(_messages, st.lists(st.integers(min_value=0, max_value=2000), max_size=12))
def test_any_chunking_gives_the_original_messages(
    messages: list[tuple[bytes, bool]], cuts: list[int]
) -> None:
    data = encode_stream(messages)
    expected = [m for m, _ in messages]
    assert decode(data) == expected
    assert decode_chunks(split_at(data, cuts)) == expected


@given(_messages)
def test_one_byte_chunks(messages: list[tuple[bytes, bool]]) -> None:
    data = encode_stream(messages)
    assert decode_chunks([data[i : i + 1] for i in range(len(data))]) == [m for m, _ in messages]


def outcome(chunks: list[bytes], encoding: str | None) -> list[bytes] | str:
    try:
        return decode_chunks(chunks, encoding, max_message_size=128)
    except GrpcFramingError as exc:
        return str(exc)


@given(st.binary(max_size=300), _encodings, st.lists(st.integers(0, 300), max_size=8))
def test_arbitrary_bytes_only_raise_framing_errors(
    data: bytes, encoding: str | None, cuts: list[int]
) -> None:
    assert outcome(split_at(data, cuts), encoding) == outcome([data], encoding)


@given(_messages, st.integers(min_value=0), st.integers(0, 255), st.lists(st.integers(0, 2000)))
def test_corrupted_streams_only_raise_framing_errors(
    messages: list[tuple[bytes, bool]], position: int, byte: int, cuts: list[int]
) -> None:
    data = bytearray(encode_stream(messages) or b"\x00")
    data[position % len(data)] = byte
    for encoding in ("gzip", "deflate", None):
        assert outcome(split_at(bytes(data), cuts), encoding) == outcome([bytes(data)], encoding)


# --- status ---------------------------------------------------------------------------------

TYPE_PREFIX = "type.googleapis.com/"

GOOGLE_DETAIL_TYPES: dict[str, type[Message]] = {
    "google.rpc.RetryInfo": error_details_pb2.RetryInfo,
    "google.rpc.ErrorInfo": error_details_pb2.ErrorInfo,
    "google.rpc.QuotaFailure": error_details_pb2.QuotaFailure,
    "google.rpc.Help": error_details_pb2.Help,
    "google.rpc.DebugInfo": error_details_pb2.DebugInfo,
}


def details_bin(*details: Message, message: str = "", pad: bool = False) -> str:
    """`grpc-status-details-bin` as Google's own protobuf library writes it."""
    status = status_pb2.Status(code=8, message=message)
    for detail in details:
        status.details.add().Pack(detail)
    encoded = base64.b64encode(status.SerializeToString()).decode()
    return encoded if pad else encoded.rstrip("=")


def grpc_trailers(obj: dict[str, Any]) -> tuple[str, str, str]:
    """The gRPC form of a Google JSON error: status, message and details, via Google's types."""
    error = obj["error"]
    details = []
    for detail in error.get("details", []):
        fields = dict(detail)
        kind = GOOGLE_DETAIL_TYPES[fields.pop("@type").removeprefix(TYPE_PREFIX)]
        details.append(json_format.ParseDict(fields, kind()))
    code = GRPC_CODES.index(error["status"])
    return str(code), percent_encode(error["message"]), details_bin(*details)


def retry_info(delay: str) -> error_details_pb2.RetryInfo:
    info = error_details_pb2.RetryInfo()
    info.retry_delay.FromJsonString(delay)
    return info


GEMINI_429 = {
    "error": {
        "code": 429,
        "message": "You exceeded your current quota, please check your plan and billing details.",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_input_token_count",
                        "quotaId": "GenerateContentInputTokensPerModelPerMinute-FreeTier",
                        "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash"},
                        "quotaValue": "250000",
                    }
                ],
            },
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [{"description": "Learn more", "url": "https://ai.google.dev/"}],
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "26s"},
        ],
    }
}

CLOUDCODE_RATE_LIMIT = {
    "error": {
        "code": 429,
        "message": "You have exhausted your capacity on this model. Your quota will reset after 0s.",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "RATE_LIMIT_EXCEEDED",
                "domain": "cloudcode-pa.googleapis.com",
                "metadata": {"model": "claude-opus-4-6-thinking", "quotaResetDelay": "479.4ms"},
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.479417207s"},
        ],
    }
}

CLOUDCODE_QUOTA_EXHAUSTED = {
    "error": {
        "code": 429,
        "message": "Individual quota reached. Resets in 108h48m29s.",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "QUOTA_EXHAUSTED",
                "domain": "cloudcode-pa.googleapis.com",
                "metadata": {"quotaResetDelay": "108h48m20.795762633s"},
            },
        ],
    }
}

PER_DAY = {
    "error": {
        "code": 429,
        "message": "Quota exceeded for metric: requests per day. Please retry in 20s.",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}],
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "20s"},
        ],
    }
}

OVERLOADED = {
    "error": {
        "code": 503,
        "message": "The model is overloaded. Please try again later.",
        "status": "UNAVAILABLE",
        "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "5s"}],
    }
}

INVALID = {
    "error": {
        "code": 400,
        "message": 'Invalid JSON payload received. Unknown name "foo": Cannot find field.',
        "status": "INVALID_ARGUMENT",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.DebugInfo",
                "detail": "[ORIGINAL ERROR] generic::invalid_argument: 100% wrong ✓",
            }
        ],
    }
}


@pytest.mark.parametrize(
    "obj",
    [GEMINI_429, CLOUDCODE_RATE_LIMIT, CLOUDCODE_QUOTA_EXHAUSTED, PER_DAY, OVERLOADED, INVALID],
)
def test_status_matches_the_json_error(obj: dict[str, Any]) -> None:
    assert status_error(*grpc_trailers(obj)) == error_from_object(obj, 500)


def test_retry_info_gives_the_delay_of_a_rate_limit() -> None:
    assert status_error("8", "Slow%20down", details_bin(retry_info("12.5s"))) == UpstreamError(
        429, "RESOURCE_EXHAUSTED", "Slow down", 12.5, "rate_limit"
    )


def test_per_day_quota_failure_is_exhausted() -> None:
    violation = error_details_pb2.QuotaFailure.Violation(
        subject="project:1", quota_id="GenerateRequestsPerDayPerProjectPerModel-FreeTier"
    )
    details = details_bin(error_details_pb2.QuotaFailure(violations=[violation]), retry_info("20s"))
    err = status_error("8", "Quota exceeded.", details)
    assert err == UpstreamError(
        429, "RESOURCE_EXHAUSTED", "Quota exceeded.", 20.0, "quota_exhausted"
    )


def test_quota_exhausted_reason_is_exhausted() -> None:
    info = error_details_pb2.ErrorInfo(
        reason="QUOTA_EXHAUSTED", domain="cloudcode-pa.googleapis.com", metadata={"a": "b"}
    )
    err = status_error("8", "Individual quota reached.", details_bin(info, retry_info("30s")))
    assert err is not None
    assert (err.retry_delay, err.quota) == (30.0, "quota_exhausted")


def test_reset_delay_metadata_is_used_without_retry_info() -> None:
    info = error_details_pb2.ErrorInfo(reason="X", metadata={"quotaResetDelay": "1.5s"})
    err = status_error("8", "", details_bin(info))
    assert err == UpstreamError(
        429, "RESOURCE_EXHAUSTED", "429 Too Many Requests", 1.5, "rate_limit"
    )


def test_delay_from_the_message_text_without_details() -> None:
    err = status_error("8", "Please%20retry%20in%2034.07s.", None)
    assert err == UpstreamError(
        429, "RESOURCE_EXHAUSTED", "Please retry in 34.07s.", 34.07, "rate_limit"
    )


def test_status_message_is_used_when_grpc_message_is_empty() -> None:
    details = details_bin(retry_info("2s"), message="from the details")
    assert status_error("14", "", details) == UpstreamError(
        503, "UNAVAILABLE", "from the details", 2.0, None
    )
    assert status_error("14", None, details) == status_error("14", "", details)
    err = status_error("14", "from%20the%20trailer", details)
    assert err is not None
    assert err.message == "from the trailer"


def test_details_padding_is_optional() -> None:
    detail = retry_info("12.5s")
    padded = details_bin(detail, message="m", pad=True)
    assert padded.endswith("=")
    assert status_error("8", "m", padded) == status_error("8", "m", padded.rstrip("="))


def test_url_safe_base64_details_are_accepted() -> None:
    raw = details_bin(retry_info("12.5s"), message="???>>>")
    assert "+" in raw or "/" in raw
    url_safe = raw.replace("+", "-").replace("/", "_")
    assert status_error("8", "", url_safe) == status_error("8", "", raw)


def test_comma_joined_duplicate_details_use_the_first_that_decodes() -> None:
    details = "!!!," + details_bin(retry_info("3s")) + "," + details_bin(retry_info("9s"))
    err = status_error("8", "m", details)
    assert err is not None
    assert err.retry_delay == 3.0


def test_ok_is_no_error() -> None:
    assert status_error("0", "ignored", details_bin(retry_info("1s"))) is None
    assert status_error(" 0 ", None, None) is None


def test_missing_status_is_a_protocol_error() -> None:
    assert status_error(None, "whatever", None) == UpstreamError(
        502, "UPSTREAM_PROTOCOL_ERROR", "gRPC response ended without grpc-status"
    )


@pytest.mark.parametrize("code", range(1, len(GRPC_CODES)))
def test_every_code_maps_like_a_json_status(code: int) -> None:
    name = GRPC_CODES[code]
    http = GRPC_HTTP_STATUS[name]
    assert error_from_object({"error": {"status": name, "message": "m"}}, 0).status == http
    assert status_error(str(code), "m", None) == UpstreamError(
        http, name, "m", None, "rate_limit" if http == 429 else None
    )


def test_code_table() -> None:
    assert len(GRPC_CODES) == 17
    assert (GRPC_CODES[0], GRPC_CODES[8], GRPC_CODES[16]) == (
        "OK",
        "RESOURCE_EXHAUSTED",
        "UNAUTHENTICATED",
    )
    assert set(GRPC_HTTP_STATUS) == set(GRPC_CODES)


@pytest.mark.parametrize("status", ["abc", "17", "-1", "", "1_4", "٣", "99999999999999999999"])
def test_invalid_status_is_unknown_and_keeps_the_text(status: str) -> None:
    assert status_error(status, "boom%21", None) == UpstreamError(500, "UNKNOWN", "boom!")
    err = status_error(status, None, None)
    assert err is not None
    assert (err.status, err.code) == (500, "UNKNOWN")
    assert "invalid grpc-status" in err.message


@pytest.mark.parametrize(
    "details",
    [
        "!!!",
        "a",
        "é",
        "////",  # valid base64 of b"\xff\xff\xff": not a protobuf
        base64.b64encode(b"\x0a\xff\xff\xff\xff\x0f").decode(),
        "=",
        ",",
        " ",
    ],
)
def test_undecodable_details_are_ignored(details: str) -> None:
    assert status_error("8", "Slow%20down", details) == UpstreamError(
        429, "RESOURCE_EXHAUSTED", "Slow down", None, "rate_limit"
    )


def test_a_corrupt_detail_is_dropped_and_the_others_kept() -> None:
    status = status_pb2.Status(code=8, message="m")
    status.details.add(type_url=TYPE_PREFIX + "google.rpc.RetryInfo", value=b"\xff\xff")
    status.details.add(type_url=TYPE_PREFIX + "google.rpc.QuotaFailure", value=b"\x0a\x02\x2a\x00")
    bad_duration = retry_info("1s")
    bad_duration.retry_delay.nanos = -1  # sign mismatch: no JSON form
    status.details.add().Pack(bad_duration)
    status.details.add().Pack(
        error_details_pb2.ErrorInfo(metadata={"quotaResetDelay": "7s"}),
        type_url_prefix="example.com/types",
    )
    details = base64.b64encode(status.SerializeToString()).decode()
    assert status_error("8", "m", details) == UpstreamError(
        429, "RESOURCE_EXHAUSTED", "m", 7.0, "rate_limit"
    )


# --- percent encoding -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoded", "text"),
    [
        ("Internal%20error%3A%20caf%C3%A9%20%E2%9C%93", "Internal error: café ✓"),
        ("plain text, no escapes!", "plain text, no escapes!"),
        ("100%25", "100%"),
        ("%e2%9c%93", "✓"),
        ("a+b", "a+b"),  # not form encoding
        ("%zz %4 %", "%zz %4 %"),  # broken escapes are kept as they are
        ("bad %FF utf-8 %C3", "bad \ufffd utf-8 \ufffd"),
        ("raw caf\udcc3\udca9", "raw café"),  # mitmproxy's surrogateescape of raw UTF-8
        ("lone \ud800", "lone \ufffd\ufffd\ufffd"),
    ],
)
def test_percent_decode(encoded: str, text: str) -> None:
    assert percent_decode(encoded) == text


def test_percent_encode() -> None:
    assert percent_encode("Quota: 100% ✓\n") == "Quota: 100%25 %E2%9C%93%0A"
    assert percent_encode("keep ~!$&'()*+,;=:@/?#[]{}|\\^`\"<>") == (
        "keep ~!$&'()*+,;=:@/?#[]{}|\\^`\"<>"
    )


@given(st.text())
def test_percent_round_trip(text: str) -> None:
    encoded = percent_encode(text)
    assert all(0x20 <= ord(c) < 0x7F for c in encoded)
    if not any(0xD800 <= ord(c) < 0xE000 for c in text):
        assert percent_decode(encoded) == text


@given(st.text())
def test_percent_decode_never_raises(text: str) -> None:
    assert isinstance(percent_decode(text), str)


# --- status properties ----------------------------------------------------------------------

_header = st.none() | st.text(max_size=40) | st.sampled_from(["0", "8", "14", "17"])
_details = (
    st.none()
    | st.text(max_size=60)
    | st.binary(max_size=60).map(lambda raw: base64.b64encode(raw).decode())
)


@given(_header, _header, _details)
def test_arbitrary_trailers_never_raise(
    status: str | None, message: str | None, details: str | None
) -> None:
    err = status_error(status, message, details)
    assert err is None or isinstance(err, UpstreamError)


@given(st.lists(st.tuples(st.sampled_from(list(GOOGLE_DETAIL_TYPES)), st.binary(max_size=40))))
def test_arbitrary_detail_payloads_never_raise(details: list[tuple[str, bytes]]) -> None:
    status = status_pb2.Status(code=8, message="m")
    for kind, value in details:
        status.details.add(type_url=TYPE_PREFIX + kind, value=value)
    err = status_error("8", None, base64.b64encode(status.SerializeToString()).decode())
    assert err is not None
    assert err.quota in ("rate_limit", "quota_exhausted")

"""GrpcLanguageServerRelay: what the language server receives of a gRPC stream we took over.

The relay edits the protobuf message itself: function-call parts go, everything else stays as
Google sent it, including what our schema does not name (a newer finish reason, unknown fields)
and what REST JSON cannot carry (NaN in a call's args). A message without a call keeps its
bytes; every message leaves uncompressed. It fails closed: an unreadable message is withheld,
and after broken framing nothing more passes. Whatever it is fed, its output is valid framing.

Expected messages are written by hand, field by field, so that "the same bytes minus the call"
does not depend on the relay's own serializer.
"""

from __future__ import annotations

import math

import pytest
from google.protobuf.message import DecodeError
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.chunking import split_at
from zerogravity_proxy.gemini import protojson
from zerogravity_proxy.gemini.grpc import GrpcMessageDecoder, encode_message
from zerogravity_proxy.gemini.pb import generativelanguage_pb2 as pb
from zerogravity_proxy.gemini.relay import GrpcLanguageServerRelay

UNKNOWN = b"\xb8\x3e\x01"  # field 999, varint 1: from a schema newer than ours
NEWER_FINISH = 18  # a FinishReason our enum does not name (yet)


def varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes([*out, value])


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def text_part(text: str, *, extra: bytes = b"") -> bytes:
    return pb.Part(text=text).SerializeToString() + extra


def call_part(name: str, **args: float) -> bytes:
    part = pb.Part(thought_signature=b"sig")
    part.function_call.id = f"{name}-1"
    part.function_call.name = name
    for key, value in args.items():
        part.function_call.args[key] = value
    return part.SerializeToString()


def candidate(*parts: bytes, finish: int = 0, extra: bytes = b"") -> bytes:
    """Candidate{content{parts, role: model}, finish_reason}, fields in number order."""
    content = b"".join(field(1, p) for p in parts) + field(2, b"model")
    finish_reason = varint(2 << 3) + varint(finish) if finish else b""
    return field(1, content) + finish_reason + extra


def response(*candidates: bytes, extra: bytes = b"") -> bytes:
    """GenerateContentResponse{candidates, usage_metadata, model_version, response_id}."""
    rest = pb.GenerateContentResponse(
        usage_metadata=pb.GenerateContentResponse.UsageMetadata(
            prompt_token_count=3, candidates_token_count=2, total_token_count=5
        ),
        model_version="gemini-3-flash",
        response_id="resp-1",
    ).SerializeToString()
    return b"".join(field(1, c) for c in candidates) + rest + extra


def relayed(pieces: list[bytes], encoding: str | None = None) -> bytes:
    relay = GrpcLanguageServerRelay(encoding)
    return b"".join([relay.feed(piece) for piece in pieces] + [relay.close()])


def frames_of(out: bytes) -> list[bytes]:
    """The relay's output as the LS's client reads it: identity refuses a compressed frame."""
    decoder = GrpcMessageDecoder(None)
    return decoder.feed(out) + decoder.close()


def calls_in(message: bytes) -> int:
    parsed = pb.GenerateContentResponse.FromString(message)
    return sum(p.HasField("function_call") for c in parsed.candidates for p in c.content.parts)


# A call with NaN args (REST JSON has no NaN) beside text, in a candidate finished with a reason
# newer than our enum; unknown fields at every level. Then the same message without the call.
KEPT_1 = text_part("Checking.", extra=UNKNOWN)
KEPT_2 = text_part("Done.")
NAN_CALL = call_part("lookup", x=math.nan, y=1.5)
WITH_CALL = response(
    candidate(KEPT_1, NAN_CALL, KEPT_2, finish=NEWER_FINISH, extra=UNKNOWN), extra=UNKNOWN
)
WITHOUT_CALL = response(
    candidate(KEPT_1, KEPT_2, finish=NEWER_FINISH, extra=UNKNOWN), extra=UNKNOWN
)
# A candidate with nothing but a call keeps one empty text part; the other candidate is kept.
ONLY_CALL = response(
    candidate(call_part("clock"), finish=1, extra=UNKNOWN),
    candidate(KEPT_2, call_part("lookup", n=2.0)),
)
ONLY_CALL_STRIPPED = response(
    candidate(pb.Part(text="").SerializeToString(), finish=1, extra=UNKNOWN),
    candidate(KEPT_2),
)
# No call, fields out of number order and `model_version` written twice (the last one wins):
# re-serializing would change these bytes, so keeping them proves they were not re-serialized.
NO_CALL = (
    pb.GenerateContentResponse(model_version="old").SerializeToString()
    + field(1, candidate(text_part("Hi"), extra=UNKNOWN))
    + pb.GenerateContentResponse(model_version="gemini-3-flash").SerializeToString()
    + UNKNOWN
)
UNREADABLE = [
    b"\xff\xff\xff",  # not protobuf at all
    b"\x0a\x07\x0a\x05\x0a\x03\x12\x01\xff",  # a part's text that is not UTF-8
    b"\x0a\x05\x12\x03\x0a",  # a candidate whose content is cut short
    field(1, candidate(NAN_CALL))[:-2],  # a call cut short
]


def test_the_fixtures_are_what_they_claim() -> None:
    parsed = pb.GenerateContentResponse.FromString(WITH_CALL)
    assert parsed.candidates[0].finish_reason == NEWER_FINISH
    assert NEWER_FINISH not in pb.Candidate.FinishReason.values()
    args = parsed.candidates[0].content.parts[1].function_call.args
    assert math.isnan(args.fields["x"].number_value)
    with pytest.raises(protojson.ProtoMappingError, match="nan"):
        protojson.response_to_json(WITH_CALL)  # what the JSON detour used to choke on
    assert (calls_in(WITH_CALL), calls_in(ONLY_CALL), calls_in(NO_CALL)) == (1, 2, 0)
    assert pb.GenerateContentResponse.FromString(NO_CALL).SerializeToString() != NO_CALL
    for bad in UNREADABLE:
        with pytest.raises(DecodeError):
            pb.GenerateContentResponse.FromString(bad)


# --- the edit -------------------------------------------------------------------------------


def test_the_call_is_removed_and_everything_else_kept() -> None:
    out = relayed([encode_message(WITH_CALL)])
    assert out == encode_message(WITHOUT_CALL)  # the same bytes, minus the call
    (message,) = frames_of(out)
    assert message.count(UNKNOWN) == 3
    parsed = pb.GenerateContentResponse.FromString(message)
    assert parsed.candidates[0].finish_reason == NEWER_FINISH
    assert [p.text for p in parsed.candidates[0].content.parts] == ["Checking.", "Done."]
    assert parsed.usage_metadata.total_token_count == 5


def test_a_candidate_left_without_parts_gets_one_empty_text_part() -> None:
    (message,) = frames_of(relayed([encode_message(ONLY_CALL)]))
    assert message == ONLY_CALL_STRIPPED
    first = pb.GenerateContentResponse.FromString(message).candidates[0]
    (part,) = first.content.parts
    assert part.HasField("text") and part.text == ""
    assert first.finish_reason == pb.Candidate.STOP


@pytest.mark.parametrize("encoding", [None, "gzip"])
def test_a_message_without_a_call_keeps_its_bytes(encoding: str | None) -> None:
    body = encode_message(NO_CALL, compress=encoding is not None)
    assert relayed(split_at(body, [1, 5, 9]), encoding) == encode_message(NO_CALL)


def test_compressed_messages_with_calls_leave_uncompressed() -> None:
    body = b"".join(encode_message(m, compress=True) for m in (WITH_CALL, NO_CALL, ONLY_CALL))
    out = relayed(split_at(body, [3, 40, 41, 100]), "gzip")
    assert frames_of(out) == [WITHOUT_CALL, NO_CALL, ONLY_CALL_STRIPPED]


def test_an_empty_message_passes() -> None:
    assert relayed([encode_message(b"")]) == encode_message(b"")


# --- failing closed -------------------------------------------------------------------------


@pytest.mark.parametrize("bad", UNREADABLE)
def test_an_unreadable_message_is_withheld_and_later_ones_pass(bad: bytes) -> None:
    body = encode_message(NO_CALL) + encode_message(bad) + encode_message(WITH_CALL)
    expected = encode_message(NO_CALL) + encode_message(WITHOUT_CALL)
    assert relayed([body]) == expected
    assert relayed(split_at(body, list(range(len(body))))) == expected  # byte by byte


@pytest.mark.parametrize(
    ("corrupt", "encoding"),
    [
        (b"\x02\x00\x00\x00\x01x", None),  # an invalid compressed flag
        (b"\x01\x00\x00\x00\x03abc", None),  # compressed, with no grpc-encoding
        (b"\x01\x00\x00\x00\x04oops", "gzip"),  # gzip that is not
    ],
)
def test_after_broken_framing_nothing_more_passes(corrupt: bytes, encoding: str | None) -> None:
    relay = GrpcLanguageServerRelay(encoding)
    assert relay.feed(encode_message(WITH_CALL)) == encode_message(WITHOUT_CALL)
    assert relay.feed(corrupt) == b""
    assert relay.feed(encode_message(NO_CALL)) == b""
    assert relay.close() == b""
    assert relay.close() == b""


def test_a_message_cut_off_by_the_end_is_withheld() -> None:
    relay = GrpcLanguageServerRelay(None)
    body = encode_message(NO_CALL) + encode_message(WITH_CALL)[:-1]
    assert relay.feed(body) == encode_message(NO_CALL)
    assert relay.close() == b""
    assert relay.feed(encode_message(NO_CALL)) == b""


# --- whatever comes in ----------------------------------------------------------------------

# (message, what the LS gets of it: None when it is withheld)
POOL: list[tuple[bytes, bytes | None]] = [
    (WITH_CALL, WITHOUT_CALL),
    (ONLY_CALL, ONLY_CALL_STRIPPED),
    (NO_CALL, NO_CALL),
    (b"", b""),
    *((bad, None) for bad in UNREADABLE),
]


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, str | None, list[bytes] | None]:
    """A stream of pool messages, maybe compressed, maybe corrupted; its expected frames
    (None once corrupted: then only the framing's validity is known)."""
    chosen = draw(st.lists(st.sampled_from(POOL), max_size=6))
    compress = draw(st.lists(st.booleans(), min_size=len(chosen), max_size=len(chosen)))
    encoding = "gzip" if any(compress) else draw(st.sampled_from([None, "gzip", "deflate"]))
    body = b"".join(
        encode_message(m, compress=c) for (m, _), c in zip(chosen, compress, strict=True)
    )
    expected: list[bytes] | None = [out for _, out in chosen if out is not None]
    if body and draw(st.booleans()):
        start = draw(st.integers(0, len(body) - 1))
        end = draw(st.integers(start, min(len(body), start + 30)))
        replacement = draw(st.binary(max_size=12))
        if replacement != body[start:end]:
            body = body[:start] + replacement + body[end:]
            expected = None
    return body, encoding, expected


@settings(max_examples=300)
@given(streams(), st.lists(st.integers(0, 2000), max_size=12))
def test_output_is_always_valid_framing_without_calls(
    stream: tuple[bytes, str | None, list[bytes] | None], cuts: list[int]
) -> None:
    body, encoding, expected = stream
    out = relayed(split_at(body, cuts), encoding)
    messages = frames_of(out)  # raises on anything but complete, uncompressed frames
    assert all(calls_in(m) == 0 for m in messages)
    if expected is not None:
        assert messages == expected

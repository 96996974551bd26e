"""The frame codec over bytes alone: no network."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guigui.common.codec import Frame, FrameDecoder, encode_frame, nesting_problem
from guigui.common.errors import ProtocolError
from guigui.common.protocol import MAX_JSON_DEPTH, ErrorCode, MessageType

HELLO = {"id": 1, "version": 1, "client": "guigui-cli/0.1"}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
bodies = st.dictionaries(st.text(max_size=12), json_values, max_size=6)
sent_frames = st.tuples(st.integers(0, 255), bodies)


def stream_of(frames: list[tuple[int, dict[str, object]]]) -> bytes:
    return b"".join(encode_frame(message_type, body) for message_type, body in frames)


def as_sent(frames: list[Frame]) -> list[tuple[int, dict[str, object]]]:
    return [(frame.type, frame.body) for frame in frames]


def decode_all(decoder: FrameDecoder) -> list[Frame]:
    out = []
    while (frame := decoder.next_frame()) is not None:
        out.append(frame)
    return out


def test_the_worked_example_of_docs_protocol() -> None:
    data = encode_frame(MessageType.HELLO, HELLO)
    body = b'{"id":1,"version":1,"client":"guigui-cli/0.1"}'
    assert data == struct.pack(">I", len(body) + 1) + b"\x01" + body
    assert data[:5].hex(" ") == "00 00 00 2f 01"  # 47 = 1 type byte + 46 body bytes


def test_non_ascii_is_sent_as_utf8_not_escaped() -> None:
    data = encode_frame(MessageType.SAY, {"text": "é😀"})
    assert "é😀".encode() in data


def test_decode_returns_none_until_complete() -> None:
    decoder = FrameDecoder()
    data = encode_frame(MessageType.HELLO, HELLO)
    decoder.feed(data[:3])
    assert decoder.next_frame() is None
    decoder.feed(data[3:-1])
    assert decoder.next_frame() is None
    decoder.feed(data[-1:])
    frame = decoder.next_frame()
    assert frame is not None and (frame.type, frame.body) == (MessageType.HELLO, HELLO)
    assert decoder.buffered == 0


def test_zero_length_is_fatal_bad_frame() -> None:
    decoder = FrameDecoder()
    decoder.feed(b"\x00\x00\x00\x00")
    with pytest.raises(ProtocolError) as error:
        decoder.next_frame()
    assert error.value.code is ErrorCode.BAD_FRAME and error.value.fatal
    with pytest.raises(ProtocolError):  # stays broken
        decoder.next_frame()


def test_oversized_header_is_refused_from_the_header_alone() -> None:
    decoder = FrameDecoder(max_frame=100)
    decoder.feed(struct.pack(">IB", 101, 1))
    with pytest.raises(ProtocolError) as error:
        decoder.next_frame()
    assert error.value.code is ErrorCode.FRAME_TOO_LARGE and error.value.fatal


def test_a_frame_of_exactly_max_frame_is_accepted() -> None:
    body = b'{"a":"' + b"x" * 90 + b'"}'
    decoder = FrameDecoder(max_frame=len(body) + 1)
    decoder.feed(struct.pack(">IB", len(body) + 1, 1) + body)
    assert decoder.next_frame() == Frame(1, body)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[1]",
        b'"text"',
        b"null",
        b"42",
        b"\xff\xfe",
        b'{"a":',
        b"{}x",
        b"\xef\xbb\xbf{}",  # a UTF-8 byte order mark is not JSON
        b'{"a":NaN}',
        b'{"a":"\\ud800"}',
        b'{"a":' + b"[" * 10_000 + b"]" * 10_000 + b"}",
    ],
    ids=lambda body: repr(body[:20]),
)
def test_bad_json_consumes_the_frame_and_keeps_sync(body: bytes) -> None:
    decoder = FrameDecoder()
    decoder.feed(struct.pack(">IB", len(body) + 1, 1) + body + encode_frame(4, {"nonce": 1}))
    frame = decoder.next_frame()  # the decoder cuts frames; the body is judged when decoded
    assert frame == Frame(1, body)
    with pytest.raises(ProtocolError) as error:
        _ = frame.body
    assert error.value.code is ErrorCode.BAD_JSON and not error.value.fatal
    following = decoder.next_frame()
    assert following is not None and following.body == {"nonce": 1}


def test_invalid_utf8_inside_a_string_is_bad_json() -> None:
    with pytest.raises(ProtocolError) as error:
        _ = Frame(MessageType.SAY, b'{"text":"\xff"}').body
    assert error.value.code is ErrorCode.BAD_JSON


def test_a_frame_is_a_value_its_type_and_its_bytes() -> None:
    assert Frame(1, b"{}") == Frame(1, b"{}")
    assert Frame(1, b"{}") != Frame(2, b"{}")
    assert Frame(1, b"{}") != Frame(1, b"{ }")  # compared as bytes, not as JSON
    assert len({Frame(1, b"{}"), Frame(1, b"{}")}) == 1
    assert repr(Frame(0x24, b'{"a":1}')) == "Frame(0x24, b'{\"a\":1}')"
    assert len(repr(Frame(1, b"x" * 10_000))) < 250


def test_the_body_is_the_json_object_sent() -> None:
    body = {"id": 1, "n": 2**53, "f": 2.5, "s": "é😀", "l": [None, True], "o": {}}
    frame = Frame(MessageType.SAY, encode_frame(MessageType.SAY, body)[5:])
    assert frame.body == body
    expected = '{"id":1,"n":9007199254740992,"f":2.5,"s":"é😀","l":[null,true],"o":{}}'
    assert frame.payload == expected.encode()


def test_unknown_type_bytes_are_decoded_for_the_caller_to_judge() -> None:
    decoder = FrameDecoder()
    decoder.feed(encode_frame(0xEE, {}))
    assert decoder.next_frame() == Frame(0xEE, b"{}")


def test_the_buffer_is_compacted_as_frames_are_consumed() -> None:
    decoder = FrameDecoder()
    frame = encode_frame(4, {"nonce": "x" * 100})
    for _ in range(1000):
        decoder.feed(frame + frame[:7])
        assert decoder.next_frame() is not None
        decoder.feed(frame[7:])
        assert decoder.next_frame() is not None
    assert decoder.buffered == 0
    assert len(decoder._buffer) < 10 * len(frame)


@settings(max_examples=200)
@given(st.lists(sent_frames, min_size=1, max_size=8), st.data())
def test_any_split_of_a_stream_decodes_to_the_same_frames(
    sent: list[tuple[int, dict[str, object]]], data: st.DataObject
) -> None:
    stream = stream_of(sent)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=20)))
    decoder = FrameDecoder(max_frame=1 << 20)
    received: list[Frame] = []
    start = 0
    for cut in [*cuts, len(stream)]:
        decoder.feed(stream[start:cut])
        start = cut
        received += decode_all(decoder)
    assert as_sent(received) == sent


@given(st.lists(sent_frames, min_size=1, max_size=3))
def test_one_byte_at_a_time(sent: list[tuple[int, dict[str, object]]]) -> None:
    stream = stream_of(sent)
    decoder = FrameDecoder(max_frame=1 << 20)
    received: list[Frame] = []
    for index in range(len(stream)):
        decoder.feed(stream[index : index + 1])
        received += decode_all(decoder)
    assert as_sent(received) == sent


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=64), max_size=10))
def test_random_bytes_raise_nothing_but_protocol_errors(chunks: list[bytes]) -> None:
    decoder = FrameDecoder(max_frame=4096)
    for chunk in chunks:
        decoder.feed(chunk)
        while True:
            try:
                if decoder.next_frame() is None:
                    break
            except ProtocolError as error:
                if error.fatal:
                    return
    assert decoder.buffered <= 4096 + 4 + 64


@given(bodies)
def test_round_trip_with_emoji_and_sql_metacharacters(body: dict[str, object]) -> None:
    body = {**body, "text": "'; DROP TABLE users; -- 😀 \\ \" %s ?"}
    decoder = FrameDecoder(max_frame=1 << 20)
    decoder.feed(encode_frame(MessageType.SAY, body))
    frame = decoder.next_frame()
    assert frame is not None and frame.body == body


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def nested_objects(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize(
    ("payload", "too_deep"),
    [
        (nested(MAX_JSON_DEPTH), False),
        (nested(MAX_JSON_DEPTH + 1), True),
        (nested_objects(MAX_JSON_DEPTH), False),
        (nested_objects(MAX_JSON_DEPTH + 1), True),
        (b"[" * MAX_JSON_DEPTH, False),  # few brackets cannot nest deeply (not JSON either)
        (b"[" * (MAX_JSON_DEPTH + 1), True),
        (b"[" * 10_000, True),
        (b"[1," * 20 + nested_objects(12) + b"]" * 20, False),  # 20 + 12 = 32
        (b"[1," * 20 + nested_objects(13) + b"]" * 20, True),
    ],
)
def test_nesting_depth_is_counted_exactly(payload: bytes, too_deep: bool) -> None:
    problem = nesting_problem(payload)
    assert (problem is not None) == too_deep
    if too_deep:
        assert problem == f"the body is nested deeper than {MAX_JSON_DEPTH} levels"


@pytest.mark.parametrize(
    ("payload", "refused"),
    [
        # An unterminated string (every quote escaped): one `{` is left, never closed.
        (b'{"a":"' + b'\\"[' * 200_000, True),
        (b'{"a":"' + b"[" * 200_000 + b"\\", True),  # ... ending in a lone backslash
        (b'"' * 200_000 + b"[" * 40, True),  # empty strings, then 40 unclosed `[`
        (b"\\" * 200_000 + b"[" * 40, True),
        (b"[" * 200_000 + b"]" * 200_000, True),
        (b"[]" * 200_000, False),
    ],
    ids=["escaped quotes", "lone backslash", "quotes", "backslashes", "deep", "wide"],
)
def test_nesting_problem_returns_on_hostile_bodies(payload: bytes, refused: bool) -> None:
    # Each is one linear pass; the suite's timeout catches a scan that backtracks.
    assert (nesting_problem(payload) is not None) == refused


def test_nesting_is_measured_outside_strings() -> None:
    assert nesting_problem(b'{"a":' + nested(MAX_JSON_DEPTH - 1) + b"}") is None
    assert nesting_problem(b'{"a":' + nested(MAX_JSON_DEPTH) + b"}") is not None
    assert nesting_problem(b'{"a":"' + b"[" * 10_000 + b'"}') is None
    assert nesting_problem(b'{"a":"\\"' + b"[" * 10_000 + b'"}') is None  # escaped quote
    wide = b'{"a":[' + b",".join([b"[]"] * 5_000) + b"]}"
    assert nesting_problem(wide) is None


def test_a_body_nested_too_deep_is_bad_json_even_where_unknown() -> None:
    frame = Frame(MessageType.PING, b'{"nonce":' + nested(10_000) + b"}")
    with pytest.raises(ProtocolError) as error:
        _ = frame.body
    assert error.value.code is ErrorCode.BAD_JSON


def test_lone_surrogates_are_bad_json() -> None:
    with pytest.raises(ProtocolError) as error:
        _ = Frame(MessageType.PING, b'{"nonce":"\\ud800"}').body
    assert error.value.code is ErrorCode.BAD_JSON

"""Payloads of the /call namespace: limits, shapes, the relayed form, and that nothing a
client can send escapes as anything but ``validation_failed``."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signaling.errors import InvalidMessage, data_error
from signaling.messages import (
    MAX_CANDIDATE_BYTES,
    MAX_SDP_BYTES,
    JoinCall,
    NoFields,
    SendSignal,
    SetMedia,
)
from signaling.namespace import parse

SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
CANDIDATE = {
    "candidate": "candidate:1 1 udp 2122260223 192.0.2.7 50000 typ host",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
    "usernameFragment": "abcd",
}


def errors(model: type[Any], data: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidMessage) as caught:
        parse(model, data)
    return [(e.field, e.zh) for e in caught.value.errors]


def test_descriptions_and_candidates_are_relayed_as_validated():
    offer = parse(SendSignal, {"to": 7, "description": {"type": "offer", "sdp": SDP}})
    assert offer.relayed(3) == {"from": 3, "description": {"type": "offer", "sdp": SDP}}
    candidate = parse(SendSignal, {"to": 7, "candidate": CANDIDATE})
    assert candidate.relayed(3) == {"from": 3, "candidate": CANDIDATE}
    bare = parse(SendSignal, {"to": 7, "candidate": {"candidate": "", "sdpMid": None}})
    assert bare.relayed(3) == {"from": 3, "candidate": {"candidate": ""}}
    end = parse(SendSignal, {"to": 7, "candidate": None})
    assert end.relayed(3) == {"from": 3, "candidate": None}  # end of candidates


def test_a_refusal_is_relayed_as_validated():
    refusal = {"code": "offer_refused", "message": "x" * 500}
    message = parse(SendSignal, {"to": 7, "error": refusal})
    assert message.relayed(3) == {"from": 3, "error": refusal}


def test_sdp_limits():
    def sdp(text: str) -> dict[str, Any]:
        return {"to": 2, "description": {"type": "answer", "sdp": text}}

    padding = MAX_SDP_BYTES - len(SDP)
    assert parse(SendSignal, sdp(SDP + "a" * padding))
    assert errors(SendSignal, sdp(SDP + "a" * (padding + 1))) == [
        ("data.description.sdp", f"媒体协商信息：不能超过 {MAX_SDP_BYTES} 字节")
    ]
    # Bytes, not characters: 11,000 CJK characters are 33,000 bytes.
    assert errors(SendSignal, sdp("v=0" + "巡" * 11_000))[0][0] == "data.description.sdp"
    assert errors(SendSignal, sdp("o=- 1 2 IN IP4 x")) == [
        ("data.description.sdp", "媒体协商信息：应以 v=0 开头（SDP）")
    ]
    assert errors(SendSignal, sdp(" v=0")) == [
        ("data.description.sdp", "媒体协商信息：应以 v=0 开头（SDP）")
    ]
    bad_type = {"to": 2, "description": {"type": "pranswer", "sdp": SDP}}
    assert errors(SendSignal, bad_type)[0][0] == "data.description.type"


def test_candidate_limits():
    def candidate(text: str, **extra: Any) -> dict[str, Any]:
        return {"to": 2, "candidate": {"candidate": text, **extra}}

    assert parse(SendSignal, candidate("c" * MAX_CANDIDATE_BYTES))
    assert errors(SendSignal, candidate("c" * (MAX_CANDIDATE_BYTES + 1))) == [
        ("data.candidate.candidate", f"网络候选地址：不能超过 {MAX_CANDIDATE_BYTES} 字节")
    ]
    assert errors(SendSignal, candidate("c", sdpMLineIndex=-1))[0][0] == (
        "data.candidate.sdpMLineIndex"
    )
    assert errors(SendSignal, candidate("c", port=9))[0][0] == "data.candidate.port"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"to": 2}, "data"),  # neither
        ({"to": 2, "description": {"type": "offer", "sdp": SDP}, "candidate": None}, "data"),
        ({"to": 2, "description": None}, "data"),
        ({"to": 2, "error": None}, "data"),
        ({"to": 2, "error": {"code": "offer_refused", "message": "x"}, "candidate": None}, "data"),
        ({"to": 2, "error": {"code": "Offer refused!", "message": "x"}}, "data.error.code"),
        ({"to": 2, "error": {"code": "offer_refused", "message": "x" * 501}}, "data.error.message"),
        ({"to": 2, "error": {"code": "offer_refused"}}, "data.error.message"),
        ({"candidate": None}, "data.to"),
        ({"to": "2", "candidate": None}, "data.to"),  # strict: no coercion
        ({"to": True, "candidate": None}, "data.to"),
        ({"to": 0, "candidate": None}, "data.to"),
        ({"to": 2, "candidate": None, "from": 1}, "data.from"),  # no spoofed sender
        (["to", 2], "data"),
        ("offer", "data"),
    ],
)
def test_malformed_signals_name_the_field(data, field):
    assert errors(SendSignal, data)[0][0] == field


def test_set_media_join_and_empty_events():
    assert parse(SetMedia, {"audio": True, "video": False}).model_dump() == {
        "audio": True,
        "video": False,
        "facing": None,
    }
    assert parse(SetMedia, {"audio": True, "video": True, "facing": "environment"}).facing
    assert errors(SetMedia, {"audio": 1, "video": True})[0][0] == "data.audio"
    assert errors(SetMedia, {"audio": True, "video": True, "facing": "back"})[0][0] == (
        "data.facing"
    )
    assert parse(JoinCall, None) == JoinCall()
    assert parse(JoinCall, {"session_id": 4, "device_id": "pc-1"}).session_id == 4
    # Ids are PostgreSQL integers: one beyond was an internal_error there (docs/api.md).
    assert parse(JoinCall, {"session_id": 2**31 - 1}).session_id == 2**31 - 1
    assert errors(JoinCall, {"session_id": 2**31}) == [
        ("data.session_id", "远程巡检：应不大于 2147483647")
    ]
    assert errors(SendSignal, {"to": 2**31, "candidate": None}) == [
        ("data.to", "对方：应不大于 2147483647")
    ]
    assert errors(JoinCall, {"device_id": "x" * 65})[0][0] == "data.device_id"
    assert errors(JoinCall, {"device_id": ""})[0][0] == "data.device_id"
    assert parse(NoFields, None) == parse(NoFields, {})
    assert errors(NoFields, {"reason": "bye"}) == [("data.reason", "原因：多余的字段，此处不接受")]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
NEAR_SIGNAL = st.fixed_dictionaries(
    {"to": JSON | st.integers()},
    optional={
        "description": JSON
        | st.fixed_dictionaries({"type": JSON | st.sampled_from(["offer", "answer"]), "sdp": JSON}),
        "candidate": JSON | st.fixed_dictionaries({"candidate": JSON}, optional={"sdpMid": JSON}),
    },
)


@pytest.mark.parametrize("model", [SendSignal, SetMedia, JoinCall, NoFields])
@given(data=JSON | NEAR_SIGNAL)
def test_any_json_is_either_valid_or_a_validation_error(model, data):
    try:
        message = parse(model, data)
    except InvalidMessage as exc:
        assert exc.errors and all(e.field.startswith("data") for e in exc.errors)
        return
    if isinstance(message, SendSignal):
        assert set(message.relayed(1)) in (
            {"from", "description"},
            {"from", "candidate"},
            {"from", "error"},
        )


def test_a_bad_payload_reads_as_plain_chinese_with_the_paths_for_programs():
    """The call pages show an ack's detail: the members' Chinese names, never their paths."""
    extra = InvalidMessage.extra_arguments().as_error("zh")
    assert extra["detail"] == "消息格式有误，消息内容：只接受一个参数"
    assert extra["errors"] == [{"field": "data", "message": "消息内容：只接受一个参数"}]
    missing = InvalidMessage(
        [data_error("session_id", "必填", "Field required"), data_error("device_id", "必填", "x")]
    )
    assert missing.message("zh") == "消息格式有误，远程巡检：必填；设备：必填"
    assert missing.message("en") == "Invalid message: data.session_id, data.device_id"
    many = InvalidMessage([data_error(f"m{n}", "必填", "Field required") for n in range(4)])
    assert many.message("zh") == "消息格式有误，" + "；".join(["消息内容：必填"] * 3) + "，共 4 处"


def test_set_media_names_the_microphone_and_the_camera():
    with pytest.raises(InvalidMessage) as caught:
        parse(SetMedia, {"audio": "yes"})
    assert caught.value.message("zh") == "消息格式有误，麦克风：应为 true 或 false；摄像头：必填"

"""Payloads of the ``/call`` namespace: what a client may send, with its limits.

Every client event is validated here before anything else happens; a payload that does not
fit is answered with ``validation_failed`` naming the field (``data.description.sdp``).
The models are also the relay format: a ``signal`` carries the validated, normalised data,
never the raw client object.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

# One Socket.IO message (an Engine.IO packet) at most; larger ones close the connection.
MAX_MESSAGE_BYTES = 64 * 1024
MAX_SDP_BYTES = 32 * 1024
MAX_CANDIDATE_BYTES = 1024
MAX_DEVICE_ID = 64  # the same bound as inspection_api.remote.rules.DEVICE_ID_MAX

DeviceId = Annotated[str, Field(min_length=1, max_length=MAX_DEVICE_ID)]


def _invalid(en: str, zh: str) -> PydanticCustomError:
    # inspection_api.i18n renders "value_error" as its ``msg``: the zh text goes there.
    return PydanticCustomError("value_error", en, {"msg": zh})


def _utf8_within(value: str, limit: int) -> str:
    # Limits are on the wire size: 32 K characters can be 96 KB of UTF-8.
    if len(value.encode("utf-8", "surrogatepass")) > limit:
        raise _invalid(f"longer than {limit} bytes", f"不能超过 {limit} 字节")
    return value


class ContactAuth(BaseModel):
    """The handshake ``auth`` of an enterprise contact (other members are ignored)."""

    model_config = ConfigDict(strict=True)

    invite: str = Field(min_length=1, max_length=128)
    device_id: DeviceId


class RecorderAuth(BaseModel):
    """The handshake ``auth`` of a recorder worker: the shared credential and its name."""

    model_config = ConfigDict(strict=True)

    recorder: str = Field(min_length=64, max_length=64)
    worker: str = Field(min_length=1, max_length=100)


# Ids are PostgreSQL integers (docs/api.md): a larger one would fail in the database.
ID_MAX = 2**31 - 1


class Message(BaseModel):
    # Strict: "1" is not a participant id and 1 is not true.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class JoinCall(Message):
    """``join_call``: staff name the session; a contact's session comes from the invite."""

    session_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    device_id: DeviceId | None = None


class SessionDescription(Message):
    type: Literal["offer", "answer"]
    sdp: str

    @field_validator("sdp")
    @classmethod
    def _check_sdp(cls, sdp: str) -> str:
        _utf8_within(sdp, MAX_SDP_BYTES)
        if not sdp.startswith("v=0"):
            raise _invalid("must start with v=0", "应以 v=0 开头（SDP）")
        return sdp


class IceCandidate(Message):
    """RTCIceCandidateInit as browsers serialise it (``candidate.toJSON()``)."""

    candidate: str
    sdpMid: str | None = Field(default=None, max_length=64)
    sdpMLineIndex: int | None = Field(default=None, ge=0, le=255)
    usernameFragment: str | None = Field(default=None, max_length=256)

    @field_validator("candidate")
    @classmethod
    def _check_size(cls, candidate: str) -> str:
        return _utf8_within(candidate, MAX_CANDIDATE_BYTES)


class SignalError(Message):
    """Why a description the recipient sent could not be used (e.g. the recorder refusing
    an offer it cannot answer), so its sender does not wait for an answer."""

    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z_]+$")
    message: str = Field(max_length=500)


class SendSignal(Message):
    """``send_signal``: exactly one of ``description``, ``candidate`` (``null`` is the
    end-of-candidates mark) or ``error`` (a description of the recipient's was refused),
    for the participant ``to``."""

    to: int = Field(ge=1, le=ID_MAX)
    description: SessionDescription | None = None
    candidate: IceCandidate | None = None
    error: SignalError | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SendSignal:
        given = {"description", "candidate", "error"} & self.model_fields_set
        if len(given) != 1:
            raise _invalid(
                "send exactly one of description, candidate or error",
                "description、candidate 和 error 须且只能有一个",
            )
        if "description" in given and self.description is None:
            raise _invalid("description must be an object", "description 应为 JSON 对象")
        if "error" in given and self.error is None:
            raise _invalid("error must be an object", "error 应为 JSON 对象")
        return self

    def relayed(self, sender: int) -> dict[str, Any]:
        """The ``signal`` event for the recipient."""
        if "description" in self.model_fields_set:
            assert self.description is not None
            return {"from": sender, "description": self.description.model_dump()}
        if "error" in self.model_fields_set:
            assert self.error is not None
            return {"from": sender, "error": self.error.model_dump()}
        candidate = self.candidate.model_dump(exclude_none=True) if self.candidate else None
        return {"from": sender, "candidate": candidate}


class SetMedia(Message):
    audio: bool
    video: bool
    facing: Literal["user", "environment"] | None = None


class NoFields(Message):
    """``end_call`` and ``leave_call`` carry nothing."""

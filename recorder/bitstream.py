"""Just enough of the VP8, H.264, Opus and Ogg formats to mux encoded frames unchanged.

Keyframe flags and picture sizes come from the frame headers; nothing here decodes a picture.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

VP8_START_CODE = b"\x9d\x01\x2a"
H264_NAL_IDR = 5
H264_NAL_SPS = 7
# profile_idc values whose SPS carries chroma format, bit depths and scaling lists
_H264_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})
OPUS_CLOCK_RATE = 48000
# Opus TOC configurations 0..31: frame length in 48 kHz samples (RFC 6716 section 3.1)
_OPUS_FRAME_SAMPLES = (
    [480, 960, 1920, 2880] * 3  # SILK NB/MB/WB: 10, 20, 40, 60 ms
    + [480, 960] * 2  # hybrid SWB/FB: 10, 20 ms
    + [120, 240, 480, 960] * 4  # CELT NB/WB/SWB/FB: 2.5, 5, 10, 20 ms
)


# VP8 (RFC 6386 section 9.1) -------------------------------------------------------------


def vp8_keyframe(data: bytes) -> bool:
    """True for a VP8 key frame: frame-tag bit 0 clear and the key frame start code present."""
    return len(data) >= 10 and not data[0] & 1 and data[3:6] == VP8_START_CODE


def vp8_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a VP8 key frame header, or None for an inter frame."""
    if not vp8_keyframe(data):
        return None
    width, height = struct.unpack_from("<HH", data, 6)
    return width & 0x3FFF, height & 0x3FFF


# H.264 (ITU-T H.264 section 7.3.2.1), Annex B byte stream as aiortc depayloads it --------


def h264_nal_units(data: bytes) -> Iterator[bytes]:
    """The NAL units of an Annex B byte stream, start codes removed."""
    starts = []
    pos = data.find(b"\x00\x00\x01")
    while pos != -1:
        starts.append(pos + 3)
        pos = data.find(b"\x00\x00\x01", pos + 3)
    for i, start in enumerate(starts):
        end = starts[i + 1] - 3 if i + 1 < len(starts) else len(data)
        # A NAL unit ends in its stop bit, so trailing zeros belong to the next start code
        # (four-byte form) or are trailing_zero_8bits of the byte stream.
        yield data[start:end].rstrip(b"\x00")


def h264_keyframe(data: bytes) -> bool:
    """True when the access unit holds an IDR slice."""
    return any(nal and nal[0] & 0x1F == H264_NAL_IDR for nal in h264_nal_units(data))


class _BitReader:
    def __init__(self, data: bytes) -> None:
        # drop emulation prevention bytes (00 00 03 -> 00 00)
        self._data = data.replace(b"\x00\x00\x03", b"\x00\x00")
        self._pos = 0

    def bit(self) -> int:
        byte = self._data[self._pos >> 3]
        value = (byte >> (7 - (self._pos & 7))) & 1
        self._pos += 1
        return value

    def bits(self, count: int) -> int:
        value = 0
        for _ in range(count):
            value = (value << 1) | self.bit()
        return value

    def ue(self) -> int:
        zeros = 0
        while self.bit() == 0:
            zeros += 1
        return (1 << zeros) - 1 + self.bits(zeros)

    def se(self) -> int:
        value = self.ue()
        return (value + 1) // 2 if value & 1 else -(value // 2)


def _skip_scaling_list(reader: _BitReader, size: int) -> None:
    last = next_scale = 8
    for _ in range(size):
        if next_scale:
            next_scale = (last + reader.se()) % 256
        last = next_scale or last


def h264_sps_size(sps: bytes) -> tuple[int, int]:
    """(width, height) of the cropped picture a sequence parameter set NAL unit describes."""
    reader = _BitReader(sps[1:])
    profile_idc = reader.bits(8)
    reader.bits(16)  # constraint flags, level_idc
    reader.ue()  # seq_parameter_set_id
    chroma_format_idc = 1
    separate_planes = 0
    if profile_idc in _H264_HIGH_PROFILES:
        chroma_format_idc = reader.ue()
        if chroma_format_idc == 3:
            separate_planes = reader.bit()
        reader.ue()  # bit_depth_luma_minus8
        reader.ue()  # bit_depth_chroma_minus8
        reader.bit()  # qpprime_y_zero_transform_bypass_flag
        if reader.bit():  # seq_scaling_matrix_present_flag
            for i in range(8 if chroma_format_idc != 3 else 12):
                if reader.bit():
                    _skip_scaling_list(reader, 16 if i < 6 else 64)
    reader.ue()  # log2_max_frame_num_minus4
    poc_type = reader.ue()
    if poc_type == 0:
        reader.ue()  # log2_max_pic_order_cnt_lsb_minus4
    elif poc_type == 1:
        reader.bit()
        reader.se()
        reader.se()
        for _ in range(reader.ue()):
            reader.se()
    reader.ue()  # max_num_ref_frames
    reader.bit()  # gaps_in_frame_num_value_allowed_flag
    width = (reader.ue() + 1) * 16
    map_units = reader.ue() + 1
    frame_mbs_only = reader.bit()
    height = (2 - frame_mbs_only) * map_units * 16
    if not frame_mbs_only:
        reader.bit()  # mb_adaptive_frame_field_flag
    reader.bit()  # direct_8x8_inference_flag
    if reader.bit():  # frame_cropping_flag
        left, right, top, bottom = (reader.ue() for _ in range(4))
        if chroma_format_idc == 0 or separate_planes:
            unit_x, unit_y = 1, 2 - frame_mbs_only
        else:
            unit_x = 2 if chroma_format_idc in (1, 2) else 1
            unit_y = (2 if chroma_format_idc == 1 else 1) * (2 - frame_mbs_only)
        width -= (left + right) * unit_x
        height -= (top + bottom) * unit_y
    return width, height


def h264_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the SPS in an access unit, or None when it carries no SPS."""
    for nal in h264_nal_units(data):
        if nal and nal[0] & 0x1F == H264_NAL_SPS:
            return h264_sps_size(nal)
    return None


# Codec-neutral entry points -------------------------------------------------------------


def is_keyframe(codec: str, data: bytes) -> bool:
    """Whether a decoder can start at this frame (every Opus frame can)."""
    if codec == "vp8":
        return vp8_keyframe(data)
    if codec == "h264":
        return h264_keyframe(data)
    return True


def video_size(codec: str, data: bytes) -> tuple[int, int] | None:
    """(width, height) a key frame announces, or None when the header does not say."""
    if codec == "vp8":
        return vp8_size(data)
    if codec == "h264":
        return h264_size(data)
    return None


# Opus (RFC 6716, RFC 7845) and Ogg (RFC 3533) -------------------------------------------


def opus_samples(data: bytes) -> int:
    """Duration of an Opus packet in 48 kHz samples, from its TOC byte; 0 when malformed."""
    if not data:
        return 0
    per_frame = _OPUS_FRAME_SAMPLES[data[0] >> 3]
    code = data[0] & 3
    if code == 0:
        frames = 1
    elif code in (1, 2):
        frames = 2
    elif len(data) >= 2:
        frames = data[1] & 0x3F
    else:
        return 0
    return per_frame * frames


def opus_head(channels: int = 2) -> bytes:
    """The OpusHead identification header (RFC 7845 section 5.1), no pre-skip.

    WebRTC's Opus stream has no encoder delay to skip: its first packet is the first sound.
    """
    return b"OpusHead" + struct.pack("<BBHIhB", 1, channels, 0, OPUS_CLOCK_RATE, 0, 0)


def _ogg_crc_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        crc = i << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        table.append(crc & 0xFFFFFFFF)
    return tuple(table)


_OGG_CRC = _ogg_crc_table()


def _ogg_page(packet: bytes, sequence: int, flags: int, granule: int = 0) -> bytes:
    lacing = bytes([255] * (len(packet) // 255) + [len(packet) % 255])
    page = bytearray(
        b"OggS" + struct.pack("<BBqIII", 0, flags, granule, 1, sequence, 0) + bytes([len(lacing)])
    )
    page += lacing + packet
    crc = 0
    for byte in page:
        crc = ((crc << 8) ^ _OGG_CRC[((crc >> 24) ^ byte) & 0xFF]) & 0xFFFFFFFF
    struct.pack_into("<I", page, 22, crc)
    return bytes(page)


def ogg_opus_stub(channels: int = 2) -> bytes:
    """A three-page Ogg Opus stream (headers and one empty 20 ms frame).

    The muxer takes Opus stream parameters, the OpusHead among them, from a template
    stream; demuxing this stub is the one way PyAV offers to build such a stream
    without opening an encoder.
    """
    tags = b"OpusTags" + struct.pack("<I", 9) + b"loancheck" + struct.pack("<I", 0)
    return (
        _ogg_page(opus_head(channels), 0, flags=2)  # beginning of stream
        + _ogg_page(tags, 1, flags=0)
        + _ogg_page(b"\xfc", 2, flags=4, granule=960)  # CELT FB 20 ms, no payload; end
    )

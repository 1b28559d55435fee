"""Reading the contact's reply from multipart/form-data (transport): the text and the photos,
each photo cut off as soon as it passes the size limit, so an oversized upload is refused
without being read whole."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote

from aiohttp import BodyPartReader, web

from inspection_api.errors import FieldError, InvalidField, ValidationFailed
from inspection_api.rectifications.errors import PhotoTooLarge
from inspection_api.rectifications.replies import PhotoUpload
from inspection_api.rectifications.rules import MAX_PHOTOS, TEXT_MAX
from inspection_api.web.parsing import refuse_nul


async def _read_part(part: BodyPartReader, limit: int) -> bytes | None:
    """The part's bytes, or None as soon as it is longer than ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_plain_form(request: web.Request) -> str:
    raw = await request.content.read(TEXT_MAX * 12 + 1)  # percent-encoded UTF-8
    if len(raw) > TEXT_MAX * 12:
        raise InvalidField(
            "body.text", f"不能超过 {TEXT_MAX} 个字", f"at most {TEXT_MAX} characters"
        )
    try:
        fields = parse_qs(raw.decode("ascii"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise InvalidField("body", "提交的内容格式不正确，请重新提交", "malformed form") from None
    for name in fields:
        if name != "text":
            raise InvalidField(f"body.{name}", "不允许的字段", "unknown field")
    return fields.get("text", [""])[0]


async def read_reply(request: web.Request, max_photo_bytes: int) -> tuple[str, list[PhotoUpload]]:
    """``text`` and up to nine ``photos`` from multipart/form-data; each photo is cut off as
    soon as it passes the limit (the rest of the request is not read). A reply without
    photos may also come as a plain form (application/x-www-form-urlencoded)."""
    if request.content_type == "application/x-www-form-urlencoded":
        text = await _read_plain_form(request)
        refuse_nul({"body.text": text})
        return text, []
    if request.content_type != "multipart/form-data":
        raise ValidationFailed(
            [
                FieldError(
                    "body",
                    "应以 multipart/form-data 提交（文字和照片）",
                    "send multipart/form-data",
                )
            ]
        )
    text = ""
    photos: list[PhotoUpload] = []
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise InvalidField("body", "不支持嵌套的 multipart", "nested multipart")
            if part.name == "text":
                raw = await _read_part(part, TEXT_MAX * 4)
                if raw is None:
                    raise InvalidField(
                        "body.text", f"不能超过 {TEXT_MAX} 个字", f"at most {TEXT_MAX} characters"
                    )
                text = raw.decode("utf-8")
            elif part.name == "photos":
                index = len(photos)
                if index >= MAX_PHOTOS:
                    raise InvalidField(
                        "body.photos",
                        f"最多上传 {MAX_PHOTOS} 张照片",
                        f"at most {MAX_PHOTOS} photos",
                    )
                # Percent-encoded by some clients (aiohttp, `"` in Chrome): shown as typed.
                name = unquote(part.filename or "").strip()
                data = await _read_part(part, max_photo_bytes)
                if data is None:
                    raise PhotoTooLarge(
                        field=f"body.photos.{index}",
                        name=name or f"第 {index + 1} 张照片",
                        limit_mb=max_photo_bytes // (1024 * 1024),
                    )
                photos.append(PhotoUpload(filename=name, data=data))
            else:
                raise InvalidField(f"body.{part.name}", "不允许的字段", "unknown field")
    except (ValueError, UnicodeDecodeError, AssertionError) as exc:  # malformed multipart
        raise InvalidField(
            "body", "提交的内容格式不正确，请重新提交", f"malformed multipart body: {exc}"
        ) from None
    names = {f"body.photos.{index}": photo.filename for index, photo in enumerate(photos)}
    refuse_nul({"body.text": text, **names})
    return text, photos

"""Errors of resumable uploads, with the status codes the tus protocol gives them."""

from __future__ import annotations

from typing import Any

from inspection_api.errors import InspectionError

TUS_VERSION = "1.0.0"
UPLOAD = "upload"  # errors.RESOURCES names it to people


class TusError(InspectionError):
    """Every answer of a tus endpoint names the protocol version, errors included."""

    def headers(self) -> dict[str, str]:
        return {"Tus-Resumable": TUS_VERSION}


class TusVersionUnsupported(TusError):
    status = 412
    code = "tus_version_unsupported"
    zh = "不支持的上传协议版本（Tus-Resumable: {got}），支持 1.0.0"
    en = "Unsupported tus version {got}; this server speaks 1.0.0"

    def headers(self) -> dict[str, str]:
        return {"Tus-Version": TUS_VERSION}


class UploadOffsetMismatch(TusError):
    # The phone sent a chunk for another offset: it asks HEAD and resumes from there.
    status = 409
    code = "upload_offset_mismatch"
    zh = "上传位置不一致：服务器已收到 {offset} 字节，请求从 {got} 字节续传"
    en = "Offset mismatch: the server holds {offset} bytes, the request starts at {got}"

    def extra(self, lang: str) -> dict[str, Any]:
        return {"offset": self.params["offset"]}

    def headers(self) -> dict[str, str]:
        return {"Tus-Resumable": TUS_VERSION, "Upload-Offset": str(self.params["offset"])}


class UploadChecksumMismatch(TusError):
    status = 460  # tus checksum extension: "Checksum Mismatch"
    code = "upload_checksum_mismatch"
    zh = "分块校验失败：收到的内容与 Upload-Checksum 不一致，请重新发送该分块"
    en = "Checksum mismatch: the chunk received differs from its Upload-Checksum"


class UploadChecksumUnsupported(TusError):
    status = 400
    code = "upload_checksum_unsupported"
    zh = "不支持的校验算法 {algorithm}（支持 sha1、sha256）"
    en = "Unsupported checksum algorithm {algorithm} (sha1, sha256 are)"


class UploadTooLarge(TusError):
    status = 413
    code = "upload_too_large"
    zh = "文件过大，上限为 {limit_mb} MB"
    en = "The file is too large; the limit is {limit_mb} MB"

    def extra(self, lang: str) -> dict[str, Any]:
        return {"limit_bytes": self.params["limit_bytes"]}


class UploadPastLength(TusError):
    status = 413
    code = "upload_past_length"
    zh = "上传内容超出声明的文件长度 {length} 字节"
    en = "The chunk goes past the declared length of {length} bytes"


class UploadIncomplete(TusError):
    status = 409
    code = "upload_incomplete"
    zh = "文件尚未上传完成（{offset}/{length} 字节），请续传后再提交"
    en = "The upload is incomplete ({offset} of {length} bytes)"


class UploadInUse(TusError):
    status = 409
    code = "upload_in_use"
    zh = "该上传文件已用于另一条取证记录"
    en = "This upload is attached to another piece of evidence"


class UploadChanged(TusError):
    status = 409
    code = "upload_changed"
    zh = "同一文件编号（client_uuid）的上传长度不同：{length} 与 {got} 字节"
    en = "An upload with this client_uuid has another length: {length}, not {got} bytes"

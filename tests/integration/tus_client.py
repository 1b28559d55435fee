"""A small tus 1.0.0 client over a test client, counting every byte it sends."""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

TUS = {"Tus-Resumable": "1.0.0"}


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def checksum(data: bytes) -> str:
    return "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()


@dataclass
class TusUpload:
    user: Any
    data: bytes
    filetype: str = "image/jpeg"
    client_uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    chunk: int = 5 * 1024 * 1024
    uploads: str = "/api/v1/uploads"  # a self-check link's: /api/v1/self-checks/{token}/uploads
    location: str = ""
    sent: int = 0  # body bytes put on the wire, cut chunks included

    async def create(self, status: int = 201) -> Any:
        response = await self.user.post(
            self.uploads,
            headers={
                **TUS,
                "Upload-Length": str(len(self.data)),
                "Upload-Metadata": metadata(
                    client_uuid=self.client_uuid,
                    sha256=hashlib.sha256(self.data).hexdigest(),
                    filetype=self.filetype,
                ),
            },
        )
        assert response.status == status, await response.text()
        if status in (200, 201):
            self.location = response.headers["Location"]
        return response

    @property
    def upload_id(self) -> str:
        return self.location.rsplit("/", 1)[1]

    async def offset(self) -> int:
        response = await self.user.head(self.location, headers=TUS)
        assert response.status == 200, response.status
        return int(response.headers["Upload-Offset"])

    async def patch(self, offset: int, body: bytes, digest: str | None = None) -> Any:
        self.sent += len(body)
        return await self.user.patch(
            self.location,
            data=body,
            headers={
                **TUS,
                "Content-Type": "application/offset+octet-stream",
                "Upload-Offset": str(offset),
                "Upload-Checksum": digest or checksum(body),
            },
        )

    async def send(self, stop_after: int | None = None) -> int:
        """Send from the server's offset, chunk by chunk (until ``stop_after`` bytes)."""
        offset = await self.offset()
        while offset < len(self.data):
            if stop_after is not None and offset >= stop_after:
                break
            body = self.data[offset : offset + self.chunk]
            response = await self.patch(offset, body)
            assert response.status == 204, await response.text()
            offset = int(response.headers["Upload-Offset"])
        return offset

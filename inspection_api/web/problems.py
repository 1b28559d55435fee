"""RFC 9457 problem+json for every error; anything unexpected is a logged 500."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from inspection_api.errors import InspectionError
from inspection_api.i18n import negotiate

log = logging.getLogger(__name__)

PROBLEM_TYPE = "application/problem+json"

_HTTP_TITLES: dict[int, tuple[str, str]] = {
    400: ("请求无效", "Bad request"),
    401: ("请先登录", "Authentication required"),
    403: ("禁止访问", "Forbidden"),
    404: ("未找到", "Not found"),
    405: ("不支持的请求方法", "Method not allowed"),
    409: ("数据冲突", "Conflict"),
    413: ("请求内容过大", "Request body too large"),
    415: ("不支持的内容类型", "Unsupported media type"),
    422: ("请求数据有误", "Invalid request data"),
    429: ("请求过于频繁", "Too many requests"),
    500: ("服务器内部错误", "Internal server error"),
}


def request_lang(request: web.Request) -> str:
    return negotiate(request.headers.get("Accept-Language"), request.query.get("lang"))


def problem_response(
    request: web.Request,
    *,
    status: int,
    code: str,
    detail: str,
    title: str | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    lang = request_lang(request)
    zh, en = _HTTP_TITLES.get(status, ("错误", "Error"))
    body = {
        "type": f"urn:loancheck:problem:{code}",
        "title": title or (zh if lang == "zh" else en),
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.path,
        **(extra or {}),
    }
    return web.Response(
        status=status,
        text=json.dumps(body, ensure_ascii=False),
        content_type=PROBLEM_TYPE,
        headers={"Content-Language": "zh-CN" if lang == "zh" else "en", **(headers or {})},
    )


def error_response(request: web.Request, exc: InspectionError) -> web.Response:
    lang = request_lang(request)
    return problem_response(
        request,
        status=exc.status,
        code=exc.code,
        detail=exc.message(lang),
        extra=exc.extra(lang),
        headers=exc.headers(),
    )


@web.middleware
async def problem_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except InspectionError as exc:
        return error_response(request, exc)
    except web.HTTPException as exc:
        if exc.status < 400 or not _wants_problem(request):
            raise
        lang = request_lang(request)
        zh, en = _HTTP_TITLES.get(exc.status, ("错误", exc.reason))
        return problem_response(
            request,
            status=exc.status,
            code=exc.reason.lower().replace(" ", "_"),
            detail=f"{zh}：{request.method} {request.path}"
            if lang == "zh"
            else f"{en}: {request.method} {request.path}",
            headers={k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")},
        )
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        lang = request_lang(request)
        return problem_response(
            request,
            status=500,
            code="internal_error",
            detail="服务器内部错误，已记录日志"
            if lang == "zh"
            else "Internal error; it was logged",
        )


def _wants_problem(request: web.Request) -> bool:
    return request.path.startswith("/api/") or "json" in request.headers.get("Accept", "")

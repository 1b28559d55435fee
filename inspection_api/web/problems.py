"""RFC 9457 problem+json for every error; anything unexpected is a logged 500."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from http import HTTPStatus
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
    410: ("已失效", "Gone"),
    412: ("前提条件不满足", "Precondition failed"),
    413: ("请求内容过大", "Request body too large"),
    415: ("不支持的内容类型", "Unsupported media type"),
    422: ("请求数据有误", "Invalid request data"),
    423: ("已锁定", "Locked"),
    429: ("请求过于频繁", "Too many requests"),
    460: ("校验失败", "Checksum mismatch"),
    500: ("服务器内部错误", "Internal server error"),
    503: ("服务暂不可用", "Service unavailable"),
}


@dataclass(frozen=True)
class HttpProblem:
    """A refusal aiohttp makes itself (no route, a method the route lacks, a body past
    ``client_max_size``), told in our words: its own texts ("404: Not Found") are English."""

    code: str
    zh: str
    en: str


HTTP_PROBLEMS: dict[int, HttpProblem] = {
    400: HttpProblem("bad_request", "请求无效", "Bad request: {method} {path}"),
    403: HttpProblem("forbidden", "禁止访问此地址", "Forbidden: {method} {path}"),
    404: HttpProblem(
        "not_found", "请求的地址不存在，请检查链接是否正确", "Not found: {method} {path}"
    ),
    405: HttpProblem(
        "method_not_allowed",
        "此地址不支持该请求方法（{method}）",
        "Method not allowed: {method} {path}",
    ),
    409: HttpProblem("conflict", "数据冲突，请刷新后重试", "Conflict: {method} {path}"),
    413: HttpProblem(
        "payload_too_large",
        "请求内容过大，请减小后重试",
        "Request body too large: {method} {path}",
    ),
}
# Any other status aiohttp raises: its title says what it is.
OTHER_HTTP_PROBLEM = HttpProblem("http_error", "{title}", "{title}: {method} {path}")

INTERNAL_ERROR = HttpProblem(
    "internal_error", "服务器内部错误，已记录日志", "Internal error; it was logged"
)


def problem_type_uri(code: str) -> str:
    return f"urn:loancheck:problem:{code}"


def status_title(status: int, lang: str) -> str:
    zh, en = _HTTP_TITLES.get(status, ("错误", "Error"))
    return zh if lang == "zh" else en


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
    instance: str | None = None,
) -> web.Response:
    lang = request_lang(request)
    body = {
        "type": problem_type_uri(code),
        "title": title or status_title(status, lang),
        "status": status,
        "detail": detail,
        "code": code,
        "instance": instance or request.path,
        **(extra or {}),
    }
    return web.Response(
        status=status,
        text=json.dumps(body, ensure_ascii=False),
        content_type=PROBLEM_TYPE,
        headers={"Content-Language": "zh-CN" if lang == "zh" else "en", **(headers or {})},
    )


def error_response(
    request: web.Request, exc: InspectionError, *, instance: str | None = None
) -> web.Response:
    lang = request_lang(request)
    return problem_response(
        request,
        status=exc.status,
        code=exc.code,
        detail=exc.message(lang),
        extra=exc.extra(lang),
        headers=exc.headers(),
        instance=instance,
    )


@web.middleware
async def problem_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except InspectionError as exc:
        return error_response(request, exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _http_problem(request, exc)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _render(request, 500, INTERNAL_ERROR, {})


def _http_problem(request: web.Request, exc: web.HTTPException) -> web.StreamResponse:
    problem = HTTP_PROBLEMS.get(exc.status, OTHER_HTTP_PROBLEM)
    headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
    if _wants_problem(request):
        return _render(request, exc.status, problem, headers)
    if request_lang(request) == "zh" and exc.text == f"{exc.status}: {exc.reason}":
        # A page, a static file: aiohttp's own "404: Not Found" in Chinese, as plain text.
        detail = _detail(request, problem, exc.status, "zh")
        return web.Response(
            status=exc.status,
            text=f"{status_title(exc.status, 'zh')}：{detail}",
            headers={"Content-Language": "zh-CN", **headers},
        )
    raise exc


_STANDARD = frozenset(HTTPStatus)


def _detail(request: web.Request, problem: HttpProblem, status: int, lang: str) -> str:
    template = problem.zh if lang == "zh" else problem.en
    title = status_title(status, lang)
    if lang != "zh" and status in _STANDARD and status not in _HTTP_TITLES:
        title = HTTPStatus(status).phrase  # in English as before: aiohttp's reason
    return template.format(method=request.method, path=request.path, title=title)


def _render(
    request: web.Request, status: int, problem: HttpProblem, headers: dict[str, str]
) -> web.Response:
    return problem_response(
        request,
        status=status,
        code=problem.code,
        detail=_detail(request, problem, status, request_lang(request)),
        headers=headers,
    )


def _wants_problem(request: web.Request) -> bool:
    return request.path.startswith("/api/") or "json" in request.headers.get("Accept", "")

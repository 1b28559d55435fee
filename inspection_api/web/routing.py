"""Typed JSON routes: one declaration validates the request, runs the handler in a
unit of work, serialises the response and describes the operation in OpenAPI.

Each domain's ``endpoints.py`` declares ``api = ApiRoutes(tag=...)`` (a declarative table,
like aiohttp's ``RouteTableDef``); the app factory registers the tables it composes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from inspection_api.auth.principal import Principal
from inspection_api.errors import Unauthenticated
from inspection_api.notifications import outbox
from inspection_api.web.keys import AUTHENTICATOR, NOTIFIER, SESSIONMAKER
from inspection_api.web.parsing import path_params, read_body, read_query
from inspection_api.web.security import client_ip

PATH_PARAM = re.compile(r"\{(\w+)\}")


@dataclass
class Ctx:
    """What a handler gets: the request, its database session and (on protected routes)
    the authenticated principal."""

    request: web.Request
    session: AsyncSession
    principal: Principal | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    cookies: list[Callable[[web.StreamResponse], None]] = field(default_factory=list)

    @property
    def user(self) -> Principal:
        if self.principal is None:  # only public routes have none, and they don't ask
            raise Unauthenticated()
        return self.principal

    @property
    def app(self) -> web.Application:
        return self.request.app

    @property
    def client_ip(self) -> str:
        return client_ip(self.request)

    @property
    def user_agent(self) -> str:
        return self.request.headers.get("User-Agent", "")[:300]


Handler = Callable[..., Awaitable[Any]]


@dataclass
class Operation:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any
    status: int
    public: bool
    path_types: dict[str, type] = field(default_factory=dict)
    # Further documented error statuses (e.g. 409, 410) with what they mean.
    problems: dict[int, str] = field(default_factory=dict)
    # A handler returning a file (web.Response) documents its media type here.
    media_type: str | None = None

    @property
    def operation_id(self) -> str:
        return self.handler.__name__


class ApiRoutes:
    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.operations: list[Operation] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: Any = None,
        status: int = 200,
        public: bool = False,
        path_types: dict[str, type] | None = None,
        problems: dict[int, str] | None = None,
        media_type: str | None = None,
    ) -> Callable[[Handler], Handler]:
        """Declare ``handler(ctx, *, body=..., query=..., **path_params)``."""

        def decorate(handler: Handler) -> Handler:
            self.operations.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    handler=handler,
                    summary=summary,
                    tag=self.tag,
                    body=body,
                    query=query,
                    response=response,
                    status=status,
                    public=public,
                    path_types=path_types or {name: int for name in PATH_PARAM.findall(path)},
                    problems=problems or {},
                    media_type=media_type,
                )
            )
            return handler

        return decorate

    def register(self, app: web.Application) -> None:
        for op in self.operations:
            app.router.add_route(op.method, op.path, _endpoint(op), name=op.operation_id)


def _endpoint(op: Operation) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    adapter = TypeAdapter(op.response) if op.response is not None else None

    async def endpoint(request: web.Request) -> web.StreamResponse:
        async with request.app[SESSIONMAKER]() as session:
            ctx = Ctx(request=request, session=session)
            if not op.public:
                # Before validation: an anonymous caller learns nothing about the input.
                ctx.principal = await request.app[AUTHENTICATOR](ctx)
                if ctx.principal is None:
                    raise Unauthenticated()
            kwargs: dict[str, Any] = path_params(op.path_types, request.match_info)
            if op.query is not None:
                kwargs["query"] = read_query(op.query, request.query)
            if op.body is not None:
                kwargs["body"] = await read_body(op.body, request)
            result = await op.handler(ctx, **kwargs)
            await session.commit()
            # Pushes queued by the handler's services, now that what they announce exists.
            await outbox.deliver(session, request.app.get(NOTIFIER))
        if isinstance(result, web.StreamResponse):
            response = result
        elif result is None or adapter is None:
            response = web.Response(status=204 if op.status == 200 else op.status)
        else:
            payload = adapter.dump_python(result, mode="json", by_alias=True)
            response = web.json_response(payload, status=op.status, dumps=_dumps)
        response.headers.update(ctx.response_headers)
        for set_cookie in ctx.cookies:
            set_cookie(response)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    endpoint.__name__ = op.operation_id
    return endpoint


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)

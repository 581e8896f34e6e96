"""Helpers for the provider tests: a scripted HTTP seam and keys to hunt for.

``Script`` is a ``MockTransport`` handler that answers each request with the next
scripted answer for its path (a response, or an exception to raise as the transport
would) and records every request, so tests can count attempts and read bodies.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

import httpx

#: A recognisable key: no message, repr or log line may ever contain it.
JOGG_KEY = "jk_live_SECRET_4f1e9a7c2b"
MIRAKO_KEY = "mk_live_SECRET_88aa31d0ce"
WEBHOOK_SECRET = "whsec_SECRET_77c1e0"
SECRETS = (JOGG_KEY, MIRAKO_KEY, WEBHOOK_SECRET)

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def envelope(
    data: Any = None,
    code: int = 0,
    msg: str = "success",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "msg": msg, "data": data}, headers=headers)


class Script:
    def __init__(self) -> None:
        self.answers: dict[str, deque[Answer]] = defaultdict(deque)
        self.defaults: dict[str, Answer] = {}
        self.requests: list[httpx.Request] = []
        self.bodies: list[bytes] = []

    def on(self, path: str, *answers: Answer, default: Answer | None = None) -> Script:
        self.answers[path].extend(answers)
        if default is not None:
            self.defaults[path] = default
        return self

    def calls(self, path: str, method: str | None = None) -> list[httpx.Request]:
        return [
            r
            for r in self.requests
            if r.url.path == path and (method is None or r.method == method)
        ]

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.requests.append(request)
        self.bodies.append(body)
        queue = self.answers.get(request.url.path)
        if queue:
            answer = queue.popleft()
        elif request.url.path in self.defaults:
            answer = self.defaults[request.url.path]
        else:
            return httpx.Response(404, text=f"unscripted {request.method} {request.url.path}")
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(request)
        return answer

    def json_of(self, request: httpx.Request) -> Any:
        return json.loads(self.bodies[self.requests.index(request)])


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"secret leaked into: {text[:200]}"

"""The OpenAI-compatible app (FastAPI) and :func:`serve` (uvicorn), behind ``crosstask serve``.

Endpoints: ``POST /v1/chat/completions`` and ``POST /v1/completions`` (with ``stream: true``:
server-sent events as OpenAI sends them, ending ``data: [DONE]``), ``GET /v1/models``,
``GET /health``, ``GET /metrics`` (Prometheus text). Every request goes through the
:class:`~crosstask.serving.batcher.Batcher`, so concurrent requests decode together. Errors
are OpenAI's error JSON: 400 for a malformed body, an unsupported parameter or an over-long
prompt (unless ``truncate: middle``), 404 for another model's name.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import socket
import time
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request  # module level: FastAPI resolves the handlers' annotations here
from fastapi.responses import JSONResponse, Response, StreamingResponse

from crosstask.serving.batcher import Batcher, GenRequest
from crosstask.serving.guards import Guards, detect_task
from crosstask.serving.metrics import CONTENT_TYPE, ServerMetrics
from crosstask.serving.protocol import APIError, ChatRequest, CompletionRequest, parse_body
from crosstask.serving.request_log import RequestLog
from crosstask.serving.serve_config import ServeConfig

log = logging.getLogger(__name__)

# How often a waiting stream checks that its client is still there.
_DISCONNECT_POLL_S = 0.5


@dataclass
class Prepared:
    """A request turned into what the batcher takes (prompt text and ids) and what the log names."""

    prompt: str
    ids: list[int]
    max_tokens: int
    task: str
    user_text: str
    truncated: bool


class Server:
    """The loaded model, batcher, guards, metrics and log of one ``crosstask serve``."""

    def __init__(self, cfg: ServeConfig, loaded: Any):
        self.cfg, self.model, self.tokenizer = cfg, loaded.model, loaded.tokenizer
        self.model_id = cfg.model_id()
        self.created = int(time.time())
        self.metrics = ServerMetrics()
        self.request_log = RequestLog(cfg.request_log, log_text=cfg.log_text)
        self.guards = Guards(cfg.input_guard, cfg.guard_threshold, cfg.output_guard)
        ctx = getattr(self.model.config, "max_position_embeddings", None) or 2048
        self.context = int(ctx)
        self.batcher = Batcher(self.model, self.tokenizer, window_s=cfg.batch_window_ms / 1000,
                               max_batch_size=cfg.max_batch_size, max_batch_tokens=cfg.max_batch_tokens,
                               on_batch=self.metrics.batch_size.observe)

    # -- prompts
    def _budget(self, max_tokens: int) -> int:
        if self.cfg.max_input_tokens is not None:
            return self.cfg.max_input_tokens
        return self.context - max_tokens

    def _max_tokens(self, wanted: int | None) -> int:
        n = wanted if wanted is not None else self.cfg.default_max_tokens
        if n > self.cfg.max_tokens:
            raise APIError(f"max_tokens {n} is over this server's limit {self.cfg.max_tokens}", param="max_tokens")
        return n

    def _check_model(self, name: str) -> None:
        if name != self.model_id:
            raise APIError(f"model {name!r} is not served here; this server serves {self.model_id!r}",
                           status=404, param="model", code="model_not_found")

    def prepare_chat(self, req: ChatRequest) -> Prepared:
        from crosstask.errors import CrosstaskError
        from crosstask.generation.engine import encode_prompt
        from crosstask.models import build_prompt

        self._check_model(req.model)
        max_tokens = self._max_tokens(req.wanted_tokens())
        messages = req.chat()
        if self.cfg.system_prompt and not any(m["role"] == "system" for m in messages):
            messages = [{"role": "system", "content": self.cfg.system_prompt}, *messages]
        users = [i for i, m in enumerate(messages) if m["role"] == "user"]
        if not users:
            raise APIError("messages: at least one user message is needed", param="messages")
        last = users[-1]
        user_text = messages[last]["content"]

        def prompt_of(user: str) -> str:
            msgs = [*messages[:last], {"role": "user", "content": user}, *messages[last + 1:]]
            try:
                return build_prompt(self.tokenizer, msgs, self.cfg.prompt_format)
            except CrosstaskError as e:
                raise APIError(f"messages: {e}", param="messages") from None

        prompt = prompt_of(user_text)
        ids = encode_prompt(self.tokenizer, prompt)
        budget, truncated = self._budget(max_tokens), False
        if len(ids) > budget:
            user_text, prompt = self._cut(user_text, prompt_of, len(ids), budget, max_tokens)
            ids, truncated = encode_prompt(self.tokenizer, prompt), True
        return Prepared(prompt, ids, max_tokens, detect_task(user_text), user_text, truncated)

    def prepare_completion(self, req: CompletionRequest) -> Prepared:
        from crosstask.generation.engine import encode_prompt

        self._check_model(req.model)
        max_tokens = self._max_tokens(req.wanted_tokens())
        prompt = req.text()
        ids = encode_prompt(self.tokenizer, prompt)
        budget, truncated = self._budget(max_tokens), False
        if not ids:
            raise APIError("prompt: empty", param="prompt")
        if len(ids) > budget:
            prompt, _ = self._cut(prompt, lambda t: t, len(ids), budget, max_tokens)
            ids, truncated = encode_prompt(self.tokenizer, prompt), True
        return Prepared(prompt, ids, max_tokens, detect_task(prompt), prompt, truncated)

    def _cut(self, text: str, prompt_of: Any, n: int, budget: int, max_tokens: int) -> tuple[str, str]:
        """The text cut in the middle (the project's one truncation) so its prompt fits, or a 400."""
        from crosstask.errors import CrosstaskError
        from crosstask.tasks.registry import TaskInput
        from crosstask.tasks.truncation import fit_text

        if self.cfg.truncate != "middle" or budget < 1:
            raise APIError(f"the prompt is {n} tokens; with max_tokens {max_tokens} this model's budget is "
                           f"{max(budget, 0)} tokens (context {self.context}); shorten it, or start the server "
                           "with --truncate middle", param="messages", code="context_length_exceeded")
        try:
            cut, _ti, user, _ = fit_text(text, lambda t: (TaskInput(text=t, reference=None), t), tokenizer=self.tokenizer,
                                         max_prompt_tokens=budget, prompt_of=prompt_of, what="this request",
                                         budget_key="max_input_tokens")
        except CrosstaskError as e:
            raise APIError(str(e), code="context_length_exceeded") from None
        return user, prompt_of(user)

    def count_tokens(self, text: str) -> int:
        with self.batcher.tokenizer_lock:
            return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    # -- one generation, as an async stream of events
    async def run(self, p: Prepared, temperature: float, top_p: float, seed: int | None, stop: tuple[str, ...],
                  deltas: asyncio.Queue[Any]) -> GenRequest:
        """Queue the request for the batcher; new text goes to ``deltas``; returns the finished request."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[GenRequest] = loop.create_future()

        def on_delta(text: str) -> None:
            loop.call_soon_threadsafe(deltas.put_nowait, text)

        def on_done(r: GenRequest) -> None:
            loop.call_soon_threadsafe(lambda: done.done() or done.set_result(r))

        req = GenRequest(ids=p.ids, max_tokens=p.max_tokens, prompt=p.prompt, temperature=temperature, top_p=top_p,
                         seed=seed if seed is not None else secrets.randbelow(2**31), stop=stop,
                         on_delta=on_delta, on_done=on_done)
        self.batcher.submit(req)
        self.metrics.queue_depth.set(self.batcher.depth())
        try:
            return await asyncio.shield(done)
        except asyncio.CancelledError:
            req.cancel()
            raise

    def record(self, endpoint: str, p: Prepared, output: str, finish: str, completion_tokens: int,
               started: float, guard: Any, verdict: str | None, request_id: str) -> None:
        latency = time.perf_counter() - started
        self.metrics.latency.labels(endpoint).observe(latency)
        self.metrics.prompt_tokens.inc(len(p.ids))
        self.metrics.completion_tokens.inc(completion_tokens)
        if verdict is not None:
            self.metrics.responses.labels(p.task, verdict).inc()
        if guard is not None and guard.refused:
            self.metrics.guard_refusals.labels(p.task).inc()
        self.request_log.write(
            prompt=p.prompt, output=output, id=request_id, endpoint=endpoint, model=self.model_id, task=p.task,
            prompt_tokens=len(p.ids), completion_tokens=completion_tokens, finish_reason=finish,
            truncated=p.truncated, input_guard=None if guard is None else {"score": round(guard.score, 4),
                                                                            "refused": guard.refused},
            verdict=verdict, latency_s=round(latency, 4))


def build_app(cfg: ServeConfig | dict[str, Any], *, loaded: Any = None) -> Any:
    """The FastAPI app serving ``cfg``'s model (``loaded`` skips loading it again)."""
    cfg = ServeConfig.parse(cfg)
    if loaded is None:
        from crosstask.models import load_model

        loaded = load_model(cfg.model, dtype=cfg.dtype, trust_remote_code=cfg.trust_remote_code, adapter=cfg.adapter)
    server = Server(cfg, loaded)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> Any:
        yield
        server.batcher.close()

    app = FastAPI(title="crosstask serve", version="1", lifespan=lifespan)
    app.state.server = server

    @app.exception_handler(APIError)
    async def _api_error(request: Request, e: APIError) -> JSONResponse:
        server.metrics.requests.labels(request.url.path, str(e.status)).inc()
        return JSONResponse(e.body(), status_code=e.status)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "model": server.model_id}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": server.model_id, "object": "model", "created": server.created,
                                            "owned_by": "crosstask"}]}

    @app.get("/metrics")
    async def metrics() -> Response:
        server.metrics.queue_depth.set(server.batcher.depth())
        return Response(server.metrics.render(), media_type=CONTENT_TYPE)

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        req = parse_body(await request.body(), ChatRequest)
        with server.batcher.tokenizer_lock:
            p = server.prepare_chat(req)
        return await _answer(request, "/v1/chat/completions", req, p, chat=True)

    @app.post("/v1/completions")
    async def completions(request: Request) -> Any:
        req = parse_body(await request.body(), CompletionRequest)
        with server.batcher.tokenizer_lock:
            p = server.prepare_completion(req)
        return await _answer(request, "/v1/completions", req, p, chat=False)

    async def _answer(request: Request, endpoint: str, req: Any, p: Prepared, *, chat: bool) -> Any:
        started = time.perf_counter()
        rid = ("chatcmpl-" if chat else "cmpl-") + secrets.token_hex(12)
        created = int(time.time())
        guard = None
        if server.guards.input is not None:
            guard = await asyncio.to_thread(server.guards.check_input, p.user_text, p.task)
        stops = req.stops()
        if req.stream:
            return StreamingResponse(_stream(request, endpoint, req, p, rid, created, started, guard, stops, chat),
                                     media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        if guard is not None and guard.refused:
            text, finish, n_out = guard.refusal, "stop", server.count_tokens(guard.refusal)
        else:
            r = await server.run(p, req.temperature, req.top_p, req.seed, stops, asyncio.Queue())
            _raise_failed(r)
            text, finish, n_out = r.text, r.finish_reason, len(r.tokens)
        verdict = server.guards.verdict(text)
        server.record(endpoint, p, text, finish, n_out, started, guard, verdict, rid)
        server.metrics.requests.labels(endpoint, "200").inc()
        usage = {"prompt_tokens": len(p.ids), "completion_tokens": n_out, "total_tokens": len(p.ids) + n_out}
        if chat:
            choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish,
                      "logprobs": None}
            return {"id": rid, "object": "chat.completion", "created": created, "model": server.model_id,
                    "choices": [choice], "usage": usage}
        return {"id": rid, "object": "text_completion", "created": created, "model": server.model_id,
                "choices": [{"index": 0, "text": text, "finish_reason": finish, "logprobs": None}], "usage": usage}

    async def _stream(request: Request, endpoint: str, req: Any, p: Prepared, rid: str, created: int,
                      started: float, guard: Any, stops: tuple[str, ...], chat: bool) -> Any:
        kind = "chat.completion.chunk" if chat else "text_completion"

        def chunk(delta: str | None, finish: str | None, first: bool = False) -> str:
            if chat:
                d: dict[str, Any] = {}
                if first:
                    d["role"] = "assistant"
                if delta is not None:
                    d["content"] = delta
                choice: dict[str, Any] = {"index": 0, "delta": d, "finish_reason": finish, "logprobs": None}
            else:
                choice = {"index": 0, "text": delta or "", "finish_reason": finish, "logprobs": None}
            body = {"id": rid, "object": kind, "created": created, "model": server.model_id, "choices": [choice]}
            return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

        deltas: asyncio.Queue[Any] = asyncio.Queue()
        task = None
        finished_ok = False
        try:
            yield chunk("" if chat else None, None, first=True)
            if guard is not None and guard.refused:
                text, finish, n_out = guard.refusal, "stop", server.count_tokens(guard.refusal)
                yield chunk(text, None)
            else:
                task = asyncio.create_task(server.run(p, req.temperature, req.top_p, req.seed, stops, deltas))
                while True:
                    getter = asyncio.create_task(deltas.get())
                    waited, _ = await asyncio.wait({getter, task}, timeout=_DISCONNECT_POLL_S,
                                                   return_when=asyncio.FIRST_COMPLETED)
                    if getter in waited:
                        yield chunk(getter.result(), None)
                        continue
                    getter.cancel()
                    if task in waited:
                        while not deltas.empty():
                            yield chunk(deltas.get_nowait(), None)
                        break
                    if await request.is_disconnected():
                        raise asyncio.CancelledError
                r = task.result()
                if r.finish_reason == "error":
                    err = {"error": {"message": r.error or "generation failed", "type": "server_error",
                                     "param": None, "code": None}}
                    yield f"data: {json.dumps(err)}\n\n"
                    yield "data: [DONE]\n\n"
                    server.metrics.requests.labels(endpoint, "500").inc()
                    return
                text, finish, n_out = r.text, r.finish_reason, len(r.tokens)
            yield chunk(None, finish)
            if req.include_usage():
                usage = {"prompt_tokens": len(p.ids), "completion_tokens": n_out, "total_tokens": len(p.ids) + n_out}
                yield f"data: {json.dumps({'id': rid, 'object': kind, 'created': created, 'model': server.model_id, 'choices': [], 'usage': usage})}\n\n"
            yield "data: [DONE]\n\n"
            finished_ok = True
            verdict = server.guards.verdict(text)
            server.record(endpoint, p, text, finish, n_out, started, guard, verdict, rid)
            server.metrics.requests.labels(endpoint, "200").inc()
        finally:
            if not finished_ok:
                # the client went away (or the server is stopping): free the batch slot at its next step
                server.metrics.disconnects.inc()
                if task is not None and not task.done():
                    task.cancel()

    return app


def _raise_failed(r: GenRequest) -> None:
    if r.finish_reason == "error":
        raise APIError(f"generation failed: {r.error}", status=500, type="server_error")


def serve(cfg: ServeConfig | dict[str, Any], *, ready: Any = None) -> None:
    """Load the model and serve it until interrupted; ``ready(url)`` is called once listening."""
    import uvicorn

    cfg = ServeConfig.parse(cfg)
    app = build_app(cfg)
    sock = socket.socket(socket.AF_INET6 if ":" in cfg.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((cfg.host, cfg.port))
    host, port = sock.getsockname()[:2]
    url = f"http://{host}:{port}/v1"
    if ready is not None:
        ready(url)
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5)
    uvicorn.Server(config).run(sockets=[sock])

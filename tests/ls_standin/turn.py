"""One turn of a cascade, as the documented LS runs it after SendUserCascadeMessage.

fetchAvailableModels; the main streamGenerateContent (plus, if asked, one concurrent extra
request for the same cascade); a follow-up per round of the LS's own tools; then the title
and metrics housekeeping calls. How it ended is recorded on the turn.

On the gRPC wire a turn is one `StreamGenerateContent` call and nothing else: no housekeeping
(those are Cloud Code calls), no parallel request (a public request carries no cascade ids to
match it by) and no tool loop (the proxy hides function calls from the LS anyway).
"""

from __future__ import annotations

import asyncio
import logging
import re

import orjson

from .config import StandInConfig
from .envelope import (
    UnknownModelError,
    build_envelope,
    fetch_models_body,
    title_body,
    user_content,
    wire_model,
)
from .grpc_wire import GRPC_PATH, GrpcGeneration, public_request
from .sse import SseDecoder, StreamResult, replay_parts
from .state import (
    CANCELLED,
    ERROR,
    HUNG,
    IDLE,
    JSON,
    STATUS_DONE,
    STATUS_ERROR,
    Cascade,
    RequestRecord,
    Turn,
    error_step,
    planner_step,
    tool_step,
    user_input_step,
)
from .tools import canned_result, decide_tools, followup_contents
from .upstream import Upstream

log = logging.getLogger(__name__)

STREAM_PATH = "/v1internal:streamGenerateContent?alt=sse"
FETCH_MODELS_PATH = "/v1internal:fetchAvailableModels"
GENERATE_PATH = "/v1internal:generateContent"
METRICS_PATH = "/v1internal:recordCodeAssistMetrics"

_DIRECTIVE = re.compile(r"\[\[ls:([^\]]*)\]\]")
_KNOWN_DIRECTIVES = frozenset({"followup"})
_SEVERITY = {IDLE: 0, ERROR: 1, HUNG: 2}

Outcome = tuple[str, str | None]


def ls_directives(text: str) -> frozenset[str]:
    """The `[[ls:NAME]]` directives in a message; raises ValueError for an unknown one."""
    names = frozenset(
        item.strip() for match in _DIRECTIVE.finditer(text) for item in match.group(1).split(",")
    )
    unknown = sorted(names - _KNOWN_DIRECTIVES)
    if unknown:
        raise ValueError(f"unknown stand-in directive [[ls:{unknown[0]}]]")
    return names


def _worse(a: Outcome, b: Outcome) -> Outcome:
    return b if _SEVERITY[b[0]] > _SEVERITY[a[0]] else a


class TurnRunner:
    """Runs one turn; `run()` is the task body and always settles the turn."""

    def __init__(
        self,
        upstream: Upstream,
        config: StandInConfig,
        cascade: Cascade,
        turn: Turn,
        grpc: GrpcGeneration | None = None,
    ) -> None:
        self.upstream = upstream
        self.grpc = grpc
        self.config = config
        self.cascade = cascade
        self.turn = turn
        self._parallel: asyncio.Task[Outcome] | None = None

    async def run(self) -> None:
        try:
            state, reason = await self._run()
        except asyncio.CancelledError:
            self.cascade.mark_cancelled()
            self.turn.settle(CANCELLED, "cancelled")
            raise
        except Exception as exc:  # a stand-in bug must not leave the turn running forever
            log.exception("stand-in turn failed")
            self.turn.settle(ERROR, f"stand-in failure: {exc!r}")
        else:
            self.turn.settle(state, reason)
        finally:
            if self._parallel is not None and not self._parallel.done():
                self._parallel.cancel()

    async def _run(self) -> Outcome:
        cascade, turn = self.cascade, self.turn
        cascade.steps.append(user_input_step(turn.message_text))
        try:
            wire_model(turn.model_enum)
            directives = ls_directives(turn.message_text)
        except (UnknownModelError, ValueError) as exc:
            return self._fail(str(exc))
        if self.grpc is not None:
            return await self._grpc_turn(self.grpc)
        turn.parallel = self.config.parallel_followup or "followup" in directives
        fetch = await self._call(
            "fetchAvailableModels", FETCH_MODELS_PATH, fetch_models_body(self.config.project)
        )
        if fetch.timed_out:
            return self._fail(fetch.error, HUNG)
        user = user_content(turn.message_text, self.config.clock())
        outcome, turn_contents = await self._rounds([*cascade.history, user], user)
        if self._parallel is not None:
            outcome = _worse(outcome, await self._parallel)
        cascade.history.extend(turn_contents if outcome[0] == IDLE else [user])
        if outcome[0] == ERROR:
            cascade.steps.append(error_step(outcome[1] or "error"))
        if outcome[0] != HUNG:
            outcome = _worse(outcome, await self._housekeeping())
        return outcome

    async def _rounds(self, contents: list[JSON], user: JSON) -> tuple[Outcome, list[JSON]]:
        """The main request and the follow-ups for the LS's own tools."""
        turn_contents = [user]
        for round_index in range(self.config.max_tool_rounds + 1):
            step = self.cascade.allocate_step()
            body = self._envelope(contents, step)
            planner = planner_step(step, body["requestId"])
            self.cascade.steps.append(planner)
            first = round_index == 0
            fire = self.turn.parallel and first
            kind = "main" if first else "followup"
            record, result = await self._stream(kind, body, step, contents if fire else None)
            failure = self._stream_failure(record, result)
            self._fill_planner(planner, result, failure is None)
            if failure is not None:
                return failure, turn_contents
            decision = decide_tools(result.calls)
            if decision.unknown is not None:
                self.turn.received_unknown_tool = (
                    self.turn.received_unknown_tool or decision.unknown
                )
                return (
                    ERROR,
                    f"the model called a tool the LS does not have: {decision.unknown}",
                ), turn_contents
            parts = replay_parts(result.parts)
            if not decision.run:
                if parts:
                    turn_contents.append({"role": "model", "parts": parts})
                return (IDLE, None), turn_contents
            for call in decision.run:
                output = canned_result(str(call["name"]), call.get("args") or {})
                self.cascade.steps.append(tool_step(call, output))
            exchange = followup_contents([], parts, decision.run)
            contents = [*contents, *exchange]
            turn_contents.extend(exchange)
        return (ERROR, f"more than {self.config.max_tool_rounds} tool rounds"), turn_contents

    async def _grpc_turn(self, grpc: GrpcGeneration) -> Outcome:
        """The whole turn on the gRPC wire: one call, read to its status."""
        cascade = self.cascade
        user = user_content(self.turn.message_text, self.config.clock())
        step = cascade.allocate_step()
        request = public_request(self.turn.model_enum, [*cascade.history, user])
        record = self._record("main", GRPC_PATH, request, step)
        record.wire_format = "grpc"
        planner = planner_step(step, None)
        cascade.steps.append(planner)
        result = StreamResult()
        await grpc.stream(record, request, lambda chunk: result.feed(orjson.dumps(chunk)))
        record.finish_reason = result.finish_reason
        record.function_calls = [str(call.get("name", "")) for call in result.calls]
        failure = self._grpc_failure(record, result)
        self._fill_planner(planner, result, failure is None)
        if failure is None:
            unknown = decide_tools(result.calls).unknown
            if unknown is not None:
                self.turn.received_unknown_tool = unknown
                failure = ERROR, f"the model called a tool the LS does not have: {unknown}"
        if failure is not None:
            cascade.history.append(user)
            return self._fail(failure[1], failure[0])
        parts = replay_parts(result.parts)
        cascade.history.extend([user, {"role": "model", "parts": parts}] if parts else [user])
        return IDLE, None

    def _envelope(self, contents: list[JSON], step: int) -> JSON:
        return build_envelope(
            cascade_id=self.cascade.cascade_id,
            trajectory_id=self.cascade.trajectory_id,
            step=step,
            model_enum=self.turn.model_enum,
            contents=contents,
            unix_ms=int(self.config.clock().timestamp() * 1000),
            project=self.config.project,
        )

    async def _stream(
        self,
        kind: str,
        body: JSON,
        step: int,
        parallel_contents: list[JSON] | None,
        sent: asyncio.Event | None = None,
    ) -> tuple[RequestRecord, StreamResult]:
        """One streamGenerateContent, read to the end; optionally fires the parallel request
        as soon as this one's 200 headers are in."""
        record = self._record(kind, STREAM_PATH, body, step)
        decoder, result = SseDecoder(), StreamResult()

        def on_data(data: bytes) -> None:
            for event in decoder.feed(data):
                result.feed(event)

        async def on_headers() -> None:
            """Fire the parallel request and read on only once it is on the wire."""
            if parallel_contents is None or self._parallel is not None:
                return
            step = self.cascade.allocate_step()  # now, so it is this request's step + 1
            sent = asyncio.Event()
            coroutine = self._parallel_request(parallel_contents, step, sent)
            self._parallel = asyncio.get_running_loop().create_task(coroutine)
            await sent.wait()

        await self.upstream.send(record, on_headers=on_headers, on_data=on_data, sent=sent)
        if record.complete:
            for event in decoder.finish():
                result.feed(event)
        record.finish_reason = result.finish_reason
        record.function_calls = [str(call.get("name", "")) for call in result.calls]
        return record, result

    async def _parallel_request(
        self, contents: list[JSON], step: int, sent: asyncio.Event
    ) -> Outcome:
        """The extra concurrent request: its own step, same trajectory, read to the end.

        Only a timeout (hung) or a call to an unknown tool changes how the turn ends; other
        failures are left in its request record. Its calls to the LS's own tools are not run.
        """
        body = self._envelope(contents, step)
        record, result = await self._stream("parallel", body, step, None, sent)
        if record.timed_out:
            return HUNG, f"parallel request: {record.error}"
        unknown = decide_tools(result.calls).unknown
        if unknown is not None:
            self.turn.received_unknown_tool = self.turn.received_unknown_tool or unknown
            return ERROR, f"the model called a tool the LS does not have: {unknown}"
        return IDLE, None

    async def _housekeeping(self) -> Outcome:
        """The title (first turn of a cascade only) and metrics calls; only a timeout counts."""
        calls: list[tuple[str, str, JSON]] = []
        if not self.cascade.titled:
            self.cascade.titled = True
            calls.append(
                ("title", GENERATE_PATH, title_body(self.turn.message_text, self.config.project))
            )
        calls.append(("metrics", METRICS_PATH, {}))
        for kind, path, body in calls:
            record = await self._call(kind, path, body)
            if record.timed_out:
                return HUNG, f"{kind} request: {record.error}"
        return IDLE, None

    async def _call(self, kind: str, path: str, body: JSON) -> RequestRecord:
        record = self._record(kind, path, body, None)
        await self.upstream.send(record)
        return record

    def _record(self, kind: str, path: str, body: JSON, step: int | None) -> RequestRecord:
        record = RequestRecord(
            index=len(self.cascade.requests),
            turn=self.turn.index,
            kind=kind,
            path=path,
            request_body=orjson.dumps(body),
            step=step,
            request_id=body.get("requestId"),
        )
        self.cascade.requests.append(record)
        return record

    def _fail(self, reason: str | None, state: str = ERROR) -> Outcome:
        if state == ERROR:
            self.cascade.steps.append(error_step(reason or "error"))
        return state, reason

    @staticmethod
    def _stream_failure(record: RequestRecord, result: StreamResult) -> Outcome | None:
        if record.timed_out:
            return HUNG, record.error
        if record.error is not None:
            return ERROR, record.error
        if record.status != 200:
            body = bytes(record.body[:300]).decode(errors="replace")
            return ERROR, f"HTTP {record.status}: {body}"
        failure = result.failure
        return None if failure is None else (ERROR, failure)

    @staticmethod
    def _grpc_failure(record: RequestRecord, result: StreamResult) -> Outcome | None:
        if record.timed_out:
            return HUNG, record.error
        if record.error is not None:
            return ERROR, record.error
        if record.grpc_status != "OK":
            return ERROR, f"gRPC {record.grpc_status}: {record.grpc_message}"
        failure = result.failure
        return None if failure is None else (ERROR, failure)

    @staticmethod
    def _fill_planner(planner: JSON, result: StreamResult, ok: bool) -> None:
        response = planner["plannerResponse"]
        response["response"] = result.text
        response["thinking"] = result.thinking
        response["toolCalls"] = [
            {
                "id": str(call.get("id", "")),
                "name": str(call.get("name", "")),
                "argumentsJson": orjson.dumps(call.get("args") or {}).decode(),
            }
            for call in result.calls
        ]
        if result.finish_reason is not None:
            response["finishReason"] = result.finish_reason
        planner["status"] = STATUS_DONE if ok else STATUS_ERROR

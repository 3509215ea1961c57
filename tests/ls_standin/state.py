"""Cascades, their turns and trajectory steps, and every request the stand-in made for them."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

JSON = dict[str, Any]

RUNNING, IDLE, ERROR, CANCELLED, HUNG = "running", "idle", "error", "cancelled", "hung"

STEP_USER_INPUT = "CORTEX_STEP_TYPE_USER_INPUT"
STEP_PLANNER_RESPONSE = "CORTEX_STEP_TYPE_PLANNER_RESPONSE"
STEP_ERROR_MESSAGE = "CORTEX_STEP_TYPE_ERROR_MESSAGE"
STATUS_RUNNING = "CORTEX_STEP_STATUS_RUNNING"
STATUS_DONE = "CORTEX_STEP_STATUS_DONE"
STATUS_ERROR = "CORTEX_STEP_STATUS_ERROR"
STATUS_CANCELED = "CORTEX_STEP_STATUS_CANCELED"


def user_input_step(text: str) -> JSON:
    return {
        "type": STEP_USER_INPUT,
        "status": STATUS_DONE,
        "userInput": {"userResponse": text, "items": [{"text": text}]},
    }


def planner_step(step: int, request_id: str | None) -> JSON:
    return {
        "type": STEP_PLANNER_RESPONSE,
        "status": STATUS_RUNNING,
        "plannerResponse": {"response": "", "thinking": "", "toolCalls": []},
        "metadata": {"stepIndex": step, "requestId": request_id},
    }


def tool_step(call: JSON, output: str) -> JSON:
    """A step for one of the LS's own tools, e.g. CORTEX_STEP_TYPE_VIEW_FILE."""
    name = str(call.get("name", ""))
    return {
        "type": f"CORTEX_STEP_TYPE_{name.upper()}",
        "status": STATUS_DONE,
        "toolCall": {"name": name, "argumentsJson": orjson.dumps(call.get("args") or {}).decode()},
        "toolResult": {"output": output},
    }


def error_step(message: str) -> JSON:
    return {
        "type": STEP_ERROR_MESSAGE,
        "status": STATUS_DONE,
        "errorMessage": {"error": {"userErrorMessage": message}},
    }


@dataclass(slots=True)
class RequestRecord:
    """One HTTP request to Cloud Code and, byte for byte, the answer it got.

    A gRPC call (`wire_format == "grpc"`) has no HTTP status: it records the messages it
    received as REST JSON and its final gRPC status (`OK` or the code's name, with the status
    message).
    """

    index: int
    turn: int
    kind: str
    path: str
    request_body: bytes
    step: int | None = None
    request_id: str | None = None
    method: str = "POST"
    status: int | None = None
    content_type: str | None = None
    content_encoding: str | None = None
    wire: bytearray = field(default_factory=bytearray)
    body: bytearray = field(default_factory=bytearray)
    complete: bool = False
    timed_out: bool = False
    error: str | None = None
    finish_reason: str | None = None
    function_calls: list[str] = field(default_factory=list)
    wire_format: str = "json"
    grpc_status: str | None = None
    grpc_message: str | None = None
    messages: list[JSON] = field(default_factory=list)

    def summary(self) -> JSON:
        summary: JSON = {
            "index": self.index,
            "turn": self.turn,
            "kind": self.kind,
            "method": self.method,
            "path": self.path,
            "step": self.step,
            "request_id": self.request_id,
            "request_sha256": hashlib.sha256(self.request_body).hexdigest(),
            "status": self.status,
            "content_type": self.content_type,
            "content_encoding": self.content_encoding,
            "response_sha256": hashlib.sha256(self.body).hexdigest(),
            "response_len": len(self.body),
            "wire_sha256": hashlib.sha256(self.wire).hexdigest(),
            "wire_len": len(self.wire),
            "complete": self.complete,
            "timed_out": self.timed_out,
            "error": self.error,
            "finish_reason": self.finish_reason,
            "function_calls": list(self.function_calls),
        }
        if self.wire_format == "grpc":
            summary.update(
                wire_format="grpc",
                grpc_status=self.grpc_status,
                grpc_message=self.grpc_message,
                messages=self.messages,
            )
        return summary

    def raw(self) -> JSON:
        return {
            "index": self.index,
            "kind": self.kind,
            "path": self.path,
            "status": self.status,
            "request_b64": base64.b64encode(self.request_body).decode(),
            "body_b64": base64.b64encode(self.body).decode(),
            "wire_b64": base64.b64encode(self.wire).decode(),
        }


@dataclass(slots=True)
class Turn:
    """One SendUserCascadeMessage and how it ended."""

    index: int
    message_text: str
    model_enum: str
    parallel: bool
    state: str = RUNNING
    error: str | None = None
    received_unknown_tool: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def settle(self, state: str, error: str | None = None) -> bool:
        """End the turn (once: a cancelled turn stays cancelled); True if this call ended it."""
        if self.state != RUNNING:
            return False
        self.state, self.error = state, error
        self.done.set()
        return True

    def summary(self) -> JSON:
        return {
            "index": self.index,
            "message_text": self.message_text,
            "model_enum": self.model_enum,
            "parallel_followup": self.parallel,
            "state": self.state,
            "error": self.error,
            "received_unknown_tool": self.received_unknown_tool,
        }


@dataclass(slots=True)
class Cascade:
    """A conversation: one trajectory, its steps, its turns, its requests and its history."""

    cascade_id: str
    trajectory_id: str
    session_id: str
    steps: list[JSON] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    requests: list[RequestRecord] = field(default_factory=list)
    history: list[JSON] = field(default_factory=list)
    next_step: int = 1
    titled: bool = False

    def allocate_step(self) -> int:
        step, self.next_step = self.next_step, self.next_step + 1
        return step

    @property
    def current(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    @property
    def state(self) -> str:
        """The last turn's state; a cascade without turns is idle."""
        return self.current.state if self.current else IDLE

    @property
    def received_unknown_tool(self) -> str | None:
        """The first unknown tool any turn received."""
        return next((t.received_unknown_tool for t in self.turns if t.received_unknown_tool), None)

    def mark_cancelled(self) -> None:
        for step in self.steps:
            if step["status"] == STATUS_RUNNING:
                step["status"] = STATUS_CANCELED
        for record in self.requests:
            if not record.complete and record.error is None:
                record.error = "cancelled"

    def summary(self) -> JSON:
        current = self.current
        return {
            "cascade_id": self.cascade_id,
            "trajectory_id": self.trajectory_id,
            "session_id": self.session_id,
            "model_enum": current.model_enum if current else None,
            "message_text": current.message_text if current else None,
            "state": self.state,
            "error": current.error if current else None,
            "received_unknown_tool": self.received_unknown_tool,
            "steps": self.steps,
            "turns": [turn.summary() for turn in self.turns],
            "requests": [record.summary() for record in self.requests],
        }

    def raw(self) -> JSON:
        return {
            "cascade_id": self.cascade_id,
            "responses": [record.raw() for record in self.requests],
        }

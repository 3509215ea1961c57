"""What the LS does with the function calls in an answer: run its own tools, balk at others."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .prompt import OWN_TOOLS

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolDecision:
    """`run`: the calls to execute (all of them, in order); `unknown`: the first call naming
    a tool the LS does not have (then nothing runs)."""

    run: tuple[JSON, ...] = ()
    unknown: str | None = None


def decide_tools(calls: list[JSON]) -> ToolDecision:
    """Run every call if all name the LS's own tools; else report the first stranger."""
    for call in calls:
        name = str(call.get("name", ""))
        if name not in OWN_TOOLS:
            return ToolDecision(unknown=name)
    return ToolDecision(run=tuple(calls))


def canned_result(name: str, args: JSON) -> str:
    """A deterministic tool output; the stand-in never touches the machine."""
    if name == "view_file":
        path = args.get("AbsolutePath", "")
        return (
            f"File Path: `file://{path}`\nTotal Lines: 2\n"
            "1: # stand-in file\n2: print('hello from the stand-in')\n"
        )
    if name == "run_command":
        command = args.get("CommandLine", "")
        return f"Command `{command}` completed.\nExit code: 0\nOutput:\nstand-in output\n"
    if name == "grep_search":
        return f"No results found for {args.get('Query', '')!r} in {args.get('SearchPath', '')}."
    raise ValueError(f"not an LS tool: {name}")


def function_response_part(call: JSON) -> JSON:
    """The `functionResponse` part answering `call` (echoing its id when it has one)."""
    name = str(call.get("name", ""))
    args = call.get("args")
    response: JSON = {"name": name, "response": {"output": canned_result(name, args or {})}}
    if "id" in call:
        response["id"] = call["id"]
    return {"functionResponse": response}


def followup_contents(
    contents: list[JSON], model_parts: list[JSON], calls: tuple[JSON, ...]
) -> list[JSON]:
    """`contents` extended with the model's turn and the results of its calls."""
    return [
        *contents,
        {"role": "model", "parts": model_parts},
        {"role": "user", "parts": [function_response_part(call) for call in calls]},
    ]

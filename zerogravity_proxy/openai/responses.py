"""A Responses API request → the ExchangeSpec Gemini is asked (protocols.md B.1, B.2, B.5, E.5).

Pure: no I/O. Where Responses and Chat Completions mean the same thing (merging turns, thought
signatures, function declarations and results, schemas, tool_choice modes, generation parameters,
metadata, inline media), the rules are translate.py's; only the Responses shapes are read here.
Everything is validated before anything is sent, and a 400's `param` names the field as the
client wrote it.

Choices the mapping leaves open:
- Web search (`web_search_preview`, `web_search_preview_2025_03_11`, `web_search`,
  `web_search_2025_08_26`) becomes `{"googleSearch": {}}`; its options (`search_context_size`,
  `user_location`, `filters`) have no Gemini equivalent and are ignored. Cloud Code refuses
  `googleSearch` next to `functionDeclarations` (antigravity.md 1.4), so function tools plus web
  search is a 400 `unsupported_tool_combination`: silently dropping either kind of tool would
  change the answer without telling the client.
- Gemini cannot be made to search. With search as the only tool, `tool_choice` `auto`,
  `required`, `{type: web_search_preview}` and `allowed_tools` all send it and let the model
  decide; `none` leaves it out.
- Thoughts are shown only when asked for: `reasoning.summary` (or the deprecated
  `generate_summary`) sets `includeThoughts`; `reasoning.effort` alone sets how much the model
  thinks, with `includeThoughts: false`; with neither, no thinkingConfig is sent and the model
  thinks its default amount. Chat differs (it always includes thoughts) because chat clients
  read `reasoning_content` whenever it is there, while Responses clients ask for summaries.
- Thought signatures: from the cache by call id, as in chat. A stateless client (`store: false`)
  carries them in a `reasoning` item's `encrypted_content` (our renderer puts the turn's
  signature there); it goes onto the next function call of the same model turn when the cache
  has none for that call, or, for a turn without calls, onto the last part of the assistant
  message that follows it. A reasoning item's summary is replayed as a thought part, to Gemini
  only (Claude rejects unsigned thinking, antigravity.md 1.8). The dummy-signature rule
  (translate.Contents) then applies per model turn, as in chat.
- `web_search_call` items (replayed output) carry nothing Gemini needs and are skipped;
  `item_reference` items would need the item store inside the translator and are refused.
- `function_call_output` takes text only (a string or `input_text` parts).
- A run of consecutive `function_call` and `function_call_output` items is one model turn (the
  calls, in order) and one user turn (the outputs, in the calls' order), however the client
  interleaved them (parallel calls are often replayed one call/output pair at a time). A call
  that carries its own thought signature after an output of the run starts a new pair of turns:
  Gemini signs the first call of each turn, so that is a sequential step, not a parallel call.
- Images must be data URIs, as in chat; `detail: original` is Gemini 3's high resolution.
- `parallel_tool_calls` and `max_tool_calls` are accepted and echoed but not enforced: Gemini has
  no switch for either. `truncation`, `user`, `prompt_cache_key`, `safety_identifier`,
  `service_tier`, `stream_options` and `include` entries other than
  `reasoning.encrypted_content` and `message.output_text.logprobs` are accepted and ignored.
- `background`, `conversation` and `prompt` need server state this proxy does not keep: 400.
- The echo (the Response fields that repeat the request) uses OpenAI's defaults where the client
  gave nothing, so clients see what they would see at OpenAI: `temperature` and `top_p` 1.0 (the
  model's own defaults apply upstream; Gemini's top_p default is 0.95), `service_tier`
  "default" (the tier that served the request; there is only one). Function tools are echoed in
  the SDK's FunctionTool shape with `strict` as given (null when absent: it is not enforced).
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import orjson

from zerogravity_proxy.gemini.spec import JSON, ExchangeSpec
from zerogravity_proxy.gemini.thinking import EFFORTS
from zerogravity_proxy.openai import translate
from zerogravity_proxy.openai.errors import invalid_request, model_not_found
from zerogravity_proxy.openai.models import Catalogue, Family, ModelInfo
from zerogravity_proxy.openai.validate import (
    integer,
    invalid_type,
    number,
    one_of,
    option,
    part_type,
    required,
    show,
    typed,
)
from zerogravity_proxy.signatures import SignatureCache

ENCRYPTED_REASONING = "reasoning.encrypted_content"
OUTPUT_LOGPROBS = "message.output_text.logprobs"
WEB_SEARCH_TOOLS = (
    "web_search_preview",
    "web_search_preview_2025_03_11",
    "web_search",
    "web_search_2025_08_26",
)
# The tool_choice types the SDK's ToolChoiceTypes allows for search; others would not echo.
_SEARCH_CHOICES = ("web_search_preview", "web_search_preview_2025_03_11")
_SUMMARIES = ("auto", "concise", "detailed")
_TRUNCATIONS = ("auto", "disabled")
_VERBOSITIES = ("low", "medium", "high")
_STATUSES = ("in_progress", "completed", "incomplete")
_DETAILS = {**translate.MEDIA_RESOLUTIONS, "original": "MEDIA_RESOLUTION_HIGH"}
_PART_KINDS = {
    "user": ("input_text", "input_image", "input_file", "input_audio"),
    "system": ("input_text",),
    "developer": ("input_text",),
    "assistant": ("output_text", "refusal", "input_text"),
}
_ROLES = {"user": "user", "system": "system", "developer": "system", "assistant": "model"}
_STATEFUL = {
    "conversation": "Conversations are not supported by this proxy: chain responses with "
    "'previous_response_id', or send the whole conversation as 'input'.",
    "prompt": "Stored prompts are not supported by this proxy: send 'instructions' and 'input'.",
}


@dataclass(frozen=True, slots=True)
class ResponsesRequest:
    spec: ExchangeSpec
    stream: bool
    store: bool
    include_encrypted: bool  # "reasoning.encrypted_content" in `include`
    input_items: list[dict[str, Any]]  # this request's input, normalised, each with an "id"
    echo: dict[str, Any]  # the Response fields that repeat the request


def parse_responses_request(
    body: object,
    *,
    catalogue: Catalogue,
    signatures: SignatureCache,
    history: Sequence[Mapping[str, Any]] = (),
) -> ResponsesRequest:
    """Validate a `/v1/responses` body and translate it; raises OpenAIError.

    `history` holds the stored items (earlier input, then output) of the chain that
    `previous_response_id` names; they come before `input`. Their `instructions` are not
    inherited.
    """
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object.")
    model = required(body, "model", "", str, "a string")
    raw_input = _input(body)
    info = catalogue.get(model)
    if info is None:
        raise model_not_found(model)
    _refuse_stateful(body)
    stream, _ = translate.streaming(body)
    store = typed(body, "store", "", bool, "a boolean") is not False
    include = _include(body)
    keys = ("user", "previous_response_id", "prompt_cache_key", "safety_identifier", "service_tier")
    for key in keys:
        typed(body, key, "", str, "a string")
    instructions = typed(body, "instructions", "", str, "a string")
    effort, summary = _reasoning(body)
    output_format, text = _text(body)
    tools, tool_config, tools_echo = _tools(body, info.family)
    top_logprobs = integer(body, "top_logprobs", 0, 20)
    max_output_tokens = integer(body, "max_output_tokens", 1)
    generation = translate.generation_config(
        info,
        effort,
        {
            "temperature": number(body, "temperature", 0, 2),
            "topP": number(body, "top_p", 0, 1),
            "maxOutputTokens": max_output_tokens,
            "responseLogprobs": top_logprobs is not None or OUTPUT_LOGPROBS in include or None,
            "logprobs": top_logprobs,
            **output_format,
        },
    )
    _thoughts_when_asked(generation, effort, summary)
    labels = translate.metadata_labels(body)

    turns = translate.Contents(info.family)
    items = _Items(turns, info, signatures)
    if instructions:
        turns.add_system([instructions])
    for k, item in enumerate(history):
        items.add(dict(item) if isinstance(item, Mapping) else item, f"history[{k}]")
    input_items = [items.add(item, f"input[{i}]") for i, item in enumerate(raw_input)]
    items.end()

    spec = ExchangeSpec(
        model=model,
        upstream_model=info.upstream,
        contents=turns.contents(),
        system_instruction=turns.system_instruction(),
        tools=tools,
        tool_config=tool_config,
        generation_config=generation or None,
        labels=labels,
    )
    echo = {
        "instructions": instructions,
        "max_output_tokens": max_output_tokens,
        "max_tool_calls": integer(body, "max_tool_calls", 0),
        "metadata": labels,
        "parallel_tool_calls": _or(typed(body, "parallel_tool_calls", "", bool, "a boolean"), True),
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": effort, "summary": summary},
        "temperature": _or(body.get("temperature"), 1.0),
        "text": text,
        "tool_choice": _or(body.get("tool_choice"), "auto"),
        "tools": tools_echo,
        "top_p": _or(body.get("top_p"), 1.0),
        "truncation": one_of(body, "truncation", "", _TRUNCATIONS) or "disabled",
        "user": body.get("user"),
        "store": store,
        "service_tier": "default",
        "background": False,
        "top_logprobs": top_logprobs,
    }
    return ResponsesRequest(spec, stream, store, ENCRYPTED_REASONING in include, input_items, echo)


def _or(value: Any, default: Any) -> Any:
    """The value the client gave (validated by now), else OpenAI's default."""
    return default if value is None else value


# --- top-level fields -----------------------------------------------------------------------


def _input(body: JSON) -> list[Any]:
    """`input` as a list of items; a string is one user message."""
    value = body.get("input")
    if value is None:
        raise invalid_request(
            "Missing required parameter: 'input'.",
            param="input",
            code="missing_required_parameter",
        )
    if isinstance(value, str):
        if not value:
            raise invalid_request("'input' must not be empty.", param="input", code="empty_string")
        return [{"type": "message", "role": "user", "content": value}]
    if not isinstance(value, list):
        raise invalid_type("input", "a string or an array", value)
    if not value:
        raise invalid_request(
            "'input' must contain at least one item.", param="input", code="empty_array"
        )
    return value


def _refuse_stateful(body: JSON) -> None:
    if typed(body, "background", "", bool, "a boolean"):
        raise invalid_request(
            "Background responses are not supported by this proxy: send the request without "
            "'background' (streaming gives the same incremental results).",
            param="background",
            code="unsupported_value",
        )
    for key, message in _STATEFUL.items():
        if body.get(key) is not None:
            raise invalid_request(message, param=key, code="unsupported_value")


def _include(body: JSON) -> list[str]:
    include = typed(body, "include", "", list, "an array") or []
    for k, value in enumerate(include):
        if not isinstance(value, str):
            raise invalid_type(f"include[{k}]", "a string", value)
    return include


def _reasoning(body: JSON) -> tuple[str | None, str | None]:
    """`reasoning.effort` and `reasoning.summary` (or its deprecated name), validated."""
    reasoning = typed(body, "reasoning", "", dict, "an object") or {}
    effort = one_of(reasoning, "effort", "reasoning", EFFORTS)
    summary = one_of(reasoning, "summary", "reasoning", _SUMMARIES)
    if summary is None:
        summary = one_of(reasoning, "generate_summary", "reasoning", _SUMMARIES)
    return effort, summary


def _thoughts_when_asked(config: JSON, effort: str | None, summary: str | None) -> None:
    """The shared thinkingConfig, with thoughts included only when a summary was asked for."""
    thinking = config.get("thinkingConfig")
    if thinking is None:
        return
    if effort is None and summary is None:
        del config["thinkingConfig"]
    elif summary is None:
        config["thinkingConfig"] = {**thinking, "includeThoughts": False}


def _text(body: JSON) -> tuple[JSON, JSON]:
    """`text` as generationConfig fields, and as the Response echoes it."""
    text = typed(body, "text", "", dict, "an object") or {}
    verbosity = one_of(text, "verbosity", "text", _VERBOSITIES)
    echo: JSON = {} if verbosity is None else {"verbosity": verbosity}
    fmt = typed(text, "format", "text", dict, "an object")
    kind = "text" if fmt is None else fmt.get("type")
    if fmt is None or kind == "text":
        return {}, {"format": {"type": "text"}, **echo}
    if kind == "json_object":
        return translate.json_output(), {"format": {"type": "json_object"}, **echo}
    if kind != "json_schema":
        raise invalid_request(
            f"Invalid value for 'text.format.type': {show(kind)}. "
            "Supported values are: 'text', 'json_object' and 'json_schema'.",
            param="text.format.type",
            code="invalid_value",
        )
    at = "text.format"
    name = required(fmt, "name", at, str, "a string")
    schema = required(fmt, "schema", at, dict, "an object")
    fmt_echo: JSON = {"type": "json_schema", "name": name, "schema": schema}
    if (description := typed(fmt, "description", at, str, "a string")) is not None:
        fmt_echo["description"] = description
    if (strict := typed(fmt, "strict", at, bool, "a boolean")) is not None:
        fmt_echo["strict"] = strict
    return translate.json_output(schema), {"format": fmt_echo, **echo}


# --- tools ----------------------------------------------------------------------------------


def _tools(body: JSON, family: Family) -> tuple[list[JSON] | None, JSON | None, list[JSON]]:
    """`tools` and `tool_choice` → Gemini `tools` and `toolConfig`, and the echoed tools."""
    functions: list[tuple[str, JSON]] = []
    search = False
    echo: list[JSON] = []
    for i, tool in enumerate(typed(body, "tools", "", list, "an array") or []):
        where = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise invalid_type(where, "an object", tool)
        kind = tool.get("type")
        if kind == "function":
            strict = typed(tool, "strict", where, bool, "a boolean")
            functions.append((where, tool))
            echo.append(
                {
                    "type": "function",
                    "name": tool.get("name"),
                    "description": tool.get("description"),
                    "parameters": tool.get("parameters"),
                    "strict": strict,
                }
            )
        elif isinstance(kind, str) and kind in WEB_SEARCH_TOOLS:
            search = True
            echo.append(dict(tool))
        else:
            raise invalid_request(
                f"Unsupported tool type {show(kind)}: only 'function' tools and web search "
                f"({', '.join(repr(t) for t in WEB_SEARCH_TOOLS)}) are supported.",
                param=f"{where}.type",
                code="unsupported_value",
            )
    declarations = translate.function_declarations(functions)
    translate.no_search_with_functions(declarations, search, "tools")
    names = {d["name"] for d in declarations}
    choice = _tool_choice(body.get("tool_choice"), names, search)
    if search:  # Gemini cannot be made to search: only `none` leaves the tool out
        off = choice is not None and choice[0] == "NONE"
        return (None if off else [{"googleSearch": {}}]), None, echo
    config = translate.tool_config(choice, names, family, "tool_choice")
    return ([{"functionDeclarations": declarations}] if declarations else None), config, echo


def _tool_choice(
    choice: object, names: Collection[str], search: bool
) -> tuple[str, list[str]] | None:
    """Responses' `tool_choice` as the calling mode and the allowed function names (empty:
    all), or None when not given. With web search, only whether it is NONE matters."""
    if choice is None:
        return None
    if isinstance(choice, str):
        return option(choice, translate.CHOICE_MODES, "tool_choice"), []
    if not isinstance(choice, dict):
        raise invalid_type("tool_choice", "a string or an object", choice)
    kind = choice.get("type")
    if kind == "function":
        return "ANY", [translate.tool_name(choice, "tool_choice", names)]
    if isinstance(kind, str) and kind in _SEARCH_CHOICES:
        if not search:
            raise invalid_request(
                f"'tool_choice' {kind!r} requires a web search tool in 'tools'.",
                param="tool_choice",
                code="invalid_value",
            )
        return "AUTO", []
    if kind != "allowed_tools":
        raise invalid_request(
            f"Invalid value for 'tool_choice.type': {show(kind)}. Supported values are: "
            f"'function', 'allowed_tools', {', '.join(repr(c) for c in _SEARCH_CHOICES)}.",
            param="tool_choice.type",
            code="invalid_value",
        )
    mode = required(choice, "mode", "tool_choice", str, "a string")
    mode = option(mode, translate.ALLOWED_TOOLS_MODES, "tool_choice.mode")
    allowed = []
    for k, tool in enumerate(required(choice, "tools", "tool_choice", list, "an array")):
        at = f"tool_choice.tools[{k}]"
        if not isinstance(tool, dict):
            raise invalid_type(at, "an object", tool)
        kind = tool.get("type")
        if kind == "function":
            allowed.append(translate.tool_name(tool, at, names))
        elif not (search and isinstance(kind, str) and kind in WEB_SEARCH_TOOLS):
            raise invalid_request(
                f"Invalid value for '{at}.type': {show(kind)}: it must name a tool in 'tools'.",
                param=f"{at}.type",
                code="invalid_value",
            )
    return ("AUTO", []) if search else (mode, allowed)


# --- input items ----------------------------------------------------------------------------


class _Items:
    """Input items → `turns`, the request's `contents` and `systemInstruction` (E.2).

    `add` also returns each item as stored and listed: full OpenAI item JSON with an id.
    """

    def __init__(
        self, turns: translate.Contents, info: ModelInfo, signatures: SignatureCache
    ) -> None:
        self._turns = turns
        self._info = info
        self._signatures = signatures
        self._call_names: dict[str, str] = {}  # call_id → function name, for outputs
        self._signature: str | None = None  # a reasoning item's, for the turn's next call
        self._text_tail: JSON | None = None  # the turn's last text part, if it has no call
        # The current run of function_call / function_call_output items, not yet in `turns`.
        self._calls: list[JSON] = []
        self._outputs: list[JSON] = []

    def add(self, item: object, where: str) -> JSON:
        if not isinstance(item, dict):
            raise invalid_type(where, "an object", item)
        kind = item.get("type")
        if kind is None and "role" in item:
            kind = "message"  # an easy input message
        if kind not in ("function_call", "function_call_output"):
            self.flush()
        match kind:
            case "message":
                return self._message(item, where)
            case "function_call":
                return self._function_call(item, where)
            case "function_call_output":
                return self._function_call_output(item, where)
            case "reasoning":
                return self._reasoning(item, where)
            case "web_search_call":  # Gemini searched within that turn; nothing to replay
                return item | {"id": _item_id(item, where, "ws")}
            case "item_reference":
                raise invalid_request(
                    "Item references are not supported by this proxy: send the item itself, "
                    "or chain with 'previous_response_id'.",
                    param=f"{where}.type",
                    code="unsupported_value",
                )
            case _:
                raise invalid_request(
                    f"Invalid value for '{where}.type': {show(kind)}. Supported values are: "
                    "'message', 'function_call', 'function_call_output', 'reasoning' and "
                    "'web_search_call'.",
                    param=f"{where}.type",
                    code="invalid_value",
                )

    def flush(self) -> None:
        """Add the pending run of calls and outputs to `turns`: one model turn, one user turn
        (translate.Contents puts the outputs in the calls' order)."""
        self._turns.append("model", self._calls)
        if self._outputs:
            self._user(self._outputs)
        self._calls, self._outputs = [], []

    def end(self) -> None:
        """After the last item: the last model turn is complete."""
        self.flush()
        self._settle()

    def _settle(self) -> None:
        """The end of a model turn: a signature no call took goes back on the last part of its
        text, where Gemini put it (D.3: returned exactly as received)."""
        if self._signature is not None and self._text_tail is not None:
            self._text_tail["thoughtSignature"] = self._signature
        self._signature = self._text_tail = None

    def _user(self, parts: list[JSON]) -> None:
        self._settle()  # a user turn ends the model turn it belonged to
        self._turns.append("user", parts)

    def _message(self, item: JSON, where: str) -> JSON:
        role = item.get("role")
        if not isinstance(role, str) or role not in _ROLES:
            raise invalid_request(
                f"Invalid value for '{where}.role': {show(role)}. Supported values are: "
                "'user', 'assistant', 'system' and 'developer'.",
                param=f"{where}.role",
                code="invalid_value",
            )
        content = item.get("content")
        if isinstance(content, str):
            text_kind = "output_text" if role == "assistant" else "input_text"
            content = [{"type": text_kind, "text": content}]
        else:
            content = required(item, "content", where, list, "a string or an array")
        parts: list[JSON] = []
        stored: list[JSON] = []
        for j, part in enumerate(content):
            gemini, normalised = self._part(part, f"{where}.content[{j}]", role)
            parts += [gemini] if gemini else []
            stored.append(normalised)
        match _ROLES[role]:
            case "system":
                self._turns.add_system(part["text"] for part in parts)
            case "user":
                self._user(parts)
            case _:
                self._turns.append("model", parts)
                if parts and self._info.family != "claude":  # Claude signs thinking only
                    self._text_tail = parts[-1]
        message = _identified(item, where, "msg")
        return {
            "type": "message",
            "id": message["id"],
            "role": role,
            "content": stored,
            "status": message["status"],
        }

    def _part(self, part: object, at: str, role: str) -> tuple[JSON | None, JSON]:
        """One content part as a Gemini part (None when empty) and as stored."""
        kind = part_type(part, at, _PART_KINDS[role])
        part = cast(JSON, part)  # part_type checked it
        match kind:
            case "input_text" | "output_text":
                text = required(part, "text", at, str, "a string")
                if role != "assistant":
                    return ({"text": text} if text else None), {"type": "input_text", "text": text}
                annotations = part.get("annotations")
                stored = {
                    "type": "output_text",
                    "text": text,
                    "annotations": annotations if isinstance(annotations, list) else [],
                }
                return ({"text": text} if text else None), stored
            case "refusal":
                text = required(part, "refusal", at, str, "a string")
                return ({"text": text} if text else None), {"type": "refusal", "refusal": text}
            case "input_image":
                return _input_image(part, at, self._info.family)
            case "input_file":
                return _input_file(part, at)
            case _:
                return translate.audio(part, at), dict(part)

    def _function_call(self, item: JSON, where: str) -> JSON:
        call_id = required(item, "call_id", where, str, "a string")
        name, args = translate.function_call(item, where)
        self._call_names[call_id] = name
        signature = self._signatures.get(call_id, self._info.upstream) or self._signature
        self._signature = self._text_tail = None  # a turn with calls: its signature is theirs
        if signature and self._outputs:  # a signed call after results: a new model turn
            self.flush()
        self._calls.append(translate.function_call_part(name, args, call_id, signature))
        arguments = item.get("arguments")
        if not isinstance(arguments, str) or not arguments:
            arguments = orjson.dumps(args).decode()
        return _identified(item, where, "fc") | {"arguments": arguments}

    def _function_call_output(self, item: JSON, where: str) -> JSON:
        call_id = required(item, "call_id", where, str, "a string")
        name = self._call_names.get(call_id)
        if name is None:
            raise invalid_request(
                f"Invalid '{where}.call_id': {call_id!r} does not match any earlier "
                "function_call item.",
                param=f"{where}.call_id",
                code="invalid_value",
            )
        output = item.get("output")
        if not isinstance(output, str):
            parts = required(item, "output", where, list, "a string or an array")
            output = "".join(_text_of(part, f"{where}.output[{j}]") for j, part in enumerate(parts))
        self._signature = None  # the results end the model turn
        self._outputs.append(translate.function_response_part(name, call_id, output))
        return _identified(item, where, "fco")

    def _reasoning(self, item: JSON, where: str) -> JSON:
        summary = typed(item, "summary", where, list, "an array") or []
        texts = [
            _text_of(part, f"{where}.summary[{k}]", "summary_text")
            for k, part in enumerate(summary)
        ]
        thought = "\n\n".join(text for text in texts if text)
        if thought and self._info.family != "claude":
            self._turns.append("model", [{"text": thought, "thought": True}])
        encrypted = typed(item, "encrypted_content", where, str, "a string")
        self._signature = encrypted or None
        stored = dict(item)
        stored["id"] = _item_id(item, where, "rs")
        stored["summary"] = summary
        return stored


def _identified(item: JSON, where: str, prefix: str) -> JSON:
    """The item as stored: its own id and status, or a new id and `completed`."""
    status = one_of(item, "status", where, _STATUSES) or "completed"
    return item | {"id": _item_id(item, where, prefix), "status": status}


def _item_id(item: JSON, where: str, prefix: str) -> str:
    return typed(item, "id", where, str, "a string") or f"{prefix}_{secrets.token_hex(12)}"


def _text_of(part: object, at: str, kind: str = "input_text") -> str:
    """The text of a part that may only be text (a tool output's, a reasoning summary's)."""
    part_type(part, at, (kind,))
    return required(cast(JSON, part), "text", at, str, "a string")


def _input_image(part: JSON, at: str, family: Family) -> tuple[JSON, JSON]:
    if part.get("file_id") is not None:
        raise invalid_request(
            "Images given by 'file_id' would need the OpenAI Files API, which this proxy does "
            "not have: send 'image_url' as a data URI.",
            param=f"{at}.file_id",
            code="unsupported_value",
        )
    url = required(part, "image_url", at, str, "a string")
    out, detail = translate.image(url, f"{at}.image_url", part, at, family, _DETAILS)
    return out, {"type": "input_image", "image_url": url, "detail": detail}


def _input_file(part: JSON, at: str) -> tuple[JSON, JSON]:
    data = typed(part, "file_data", at, str, "a string")
    if data is None:
        raise invalid_request(
            "Only inline files are supported: send 'file_data' (a data URI or base64 PDF); "
            "'file_id' and 'file_url' would need fetching, which this proxy does not do.",
            param=f"{at}.file_data",
            code="unsupported_value",
        )
    out = translate.file_data(data, f"{at}.file_data")
    stored: JSON = {"type": "input_file", "file_data": data}
    if isinstance(filename := part.get("filename"), str):
        stored["filename"] = filename
    return out, stored

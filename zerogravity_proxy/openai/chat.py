"""A Chat Completions request → the ExchangeSpec Gemini is asked (protocols.md A.1, A.2, E.1, E.2).

Pure: no I/O. Everything is validated here, before anything is sent, so a malformed request is a
400 whose `param` names the offending field rather than an upstream error about a payload the
client never wrote. Unknown top-level fields are ignored, as OpenAI-compatible servers do.

Choices the mapping leaves open:
- `n` > 1 is refused: an exchange yields one candidate.
- `parallel_tool_calls` is accepted and ignored: Gemini has no switch; the model decides.
- `user`, `store`, `service_tier`, `prompt_cache_key`, `safety_identifier`, `verbosity`,
  `modalities`, `logit_bias`, `web_search_options`...: accepted and ignored.
- System and developer messages, wherever they are, become `systemInstruction` parts in order
  (one part per text); a mid-conversation system message loses its position.
- Consecutive messages with the same Gemini role merge into one content, so tool results and a
  following user message share one `user` content, and roles always alternate.
- A tool result is `{"result": <the content parsed as JSON, or the text when it is not JSON>}`,
  the same shape for objects, scalars and text.
- Thought signatures come back from the cache per call id. A model turn whose calls have none
  gets the documented dummy on its first call (D.3: never on later parallel calls), except on
  Claude, which rejects it (antigravity.md 1.8). For the same reason `reasoning_content` is
  replayed as a thought part to Gemini only: Claude would reject an unsigned thinking block.
- Images must arrive as data URIs: the sidecar inlines http(s) URLs before we run when
  `fetch_remote_images` is on; otherwise they are refused. `detail` maps to the part's
  `mediaResolution` on Gemini 3, the only family that has it. A `file` given as bare base64 is a
  PDF, the one file type Chat Completions accepts.
- Claude's thinking budget must stay below `maxOutputTokens` (antigravity.md 1.4), so it is
  lowered to fit when the client caps the output.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from zerogravity_proxy.gemini.schema import sanitize_response_schema, sanitize_schema
from zerogravity_proxy.gemini.spec import JSON, ExchangeSpec
from zerogravity_proxy.gemini.thinking import thinking_config
from zerogravity_proxy.openai.errors import OpenAIError, invalid_request, model_not_found
from zerogravity_proxy.openai.models import Catalogue, Family, ModelInfo
from zerogravity_proxy.signatures import SignatureCache

DUMMY_SIGNATURE = "skip_thought_signature_validator"
CLAUDE_MAX_OUTPUT_TOKENS = 64_000
MAX_STOP_SEQUENCES = 5
REMOTE_IMAGE_MESSAGE = (
    "Image URLs are not fetched by this proxy. Send the image inline as a data URI "
    "(data:<mime>;base64,<data>), or have the operator enable `fetch_remote_images` "
    "(ZEROGRAVITY_FETCH_REMOTE_IMAGES=1)."
)

_FUNCTION_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}")
_DATA_URI = re.compile(r"data:([\w.+-]+/[\w.+-]+)((?:;[^;,]*)*),(.*)", re.DOTALL)
_AUDIO_FORMAT = re.compile(r"[a-z0-9]{1,16}")
_CHOICE_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
_ALLOWED_TOOLS_MODES = {"auto": "VALIDATED", "required": "ANY"}
_MEDIA_RESOLUTIONS = {"auto": "", "low": "MEDIA_RESOLUTION_LOW", "high": "MEDIA_RESOLUTION_HIGH"}
_USER_PARTS = ("text", "image_url", "input_audio", "file")


@dataclass(frozen=True, slots=True)
class ChatRequest:
    spec: ExchangeSpec
    stream: bool
    include_usage: bool


def parse_chat_request(
    body: object, *, catalogue: Catalogue, signatures: SignatureCache
) -> ChatRequest:
    """Validate a `/v1/chat/completions` body and translate it; raises OpenAIError."""
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object.")
    model = _required(body, "model", "", str, "a string")
    messages = _required(body, "messages", "", list, "an array")
    if not messages:
        raise invalid_request(
            "'messages' must contain at least one message.", param="messages", code="empty_array"
        )
    info = catalogue.get(model)
    if info is None:
        raise model_not_found(model)
    stream, include_usage = _streaming(body)
    n = _integer(body, "n", 1)
    if n is not None and n > 1:
        raise invalid_request(
            "n > 1 is not supported: this endpoint returns one choice per request.",
            param="n",
            code="unsupported_value",
        )
    _typed(body, "parallel_tool_calls", "", bool, "a boolean")
    declarations = _declarations(body)
    history = _History(info, signatures)
    for index, message in enumerate(messages):
        history.add(index, message)
    spec = ExchangeSpec(
        model=model,
        upstream_model=info.upstream,
        contents=history.contents(),
        system_instruction=history.system_instruction(),
        tools=[{"functionDeclarations": declarations}] if declarations else None,
        tool_config=_tool_config(body, {d["name"] for d in declarations}, info.family),
        generation_config=_generation_config(body, info) or None,
        labels=_labels(body),
    )
    return ChatRequest(spec, stream, include_usage)


# --- messages -------------------------------------------------------------------------------


class _History:
    """Messages → `contents` and `systemInstruction` (E.2)."""

    def __init__(self, info: ModelInfo, signatures: SignatureCache) -> None:
        self._info = info
        self._signatures = signatures
        self._system: list[JSON] = []
        self._contents: list[JSON] = []
        self._call_names: dict[str, str] = {}  # tool-call id → function name, for tool results

    def add(self, index: int, message: object) -> None:
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise _invalid_type(where, "an object", message)
        match message.get("role"):
            case "system" | "developer":
                self._system += [{"text": t} for t in _texts(message, where) if t]
            case "user":
                self._append("user", self._user_parts(message, where))
            case "assistant":
                self._append("model", self._model_parts(message, where))
            case "tool":
                self._append("user", [self._tool_result(message, where)])
            case "function":
                name = _required(message, "name", where, str, "a string")
                response = {"name": name, "response": _result(message, where)}
                self._append("user", [{"functionResponse": response}])
            case role:
                raise invalid_request(
                    f"Invalid value for '{where}.role': {_show(role)}. Supported values are: "
                    "'system', 'developer', 'user', 'assistant', 'tool' and 'function'.",
                    param=f"{where}.role",
                    code="invalid_value",
                )

    def contents(self) -> list[JSON]:
        if self._info.family != "claude":
            for content in self._contents:
                if content["role"] == "model":
                    _sign_first_call(content["parts"])
        return self._contents or [{"role": "user", "parts": [{"text": " "}]}]

    def system_instruction(self) -> JSON | None:
        return {"parts": self._system} if self._system else None

    def _append(self, role: str, parts: list[JSON]) -> None:
        if not parts:
            return
        if self._contents and self._contents[-1]["role"] == role:
            self._contents[-1]["parts"] += parts
        else:
            self._contents.append({"role": role, "parts": parts})

    def _user_parts(self, message: JSON, where: str) -> list[JSON]:
        content = message.get("content")
        if isinstance(content, str):
            return [{"text": content}] if content else []
        if not isinstance(content, list):
            raise _invalid_type(f"{where}.content", "a string or an array", content)
        parts: list[JSON] = []
        for j, part in enumerate(content):
            at = f"{where}.content[{j}]"
            match _part_type(part, at, _USER_PARTS):
                case "text":
                    if text := _required(part, "text", at, str, "a string"):
                        parts.append({"text": text})
                case "image_url":
                    parts.append(_image(part, at, self._info.family))
                case "input_audio":
                    parts.append(_audio(part, at))
                case _:
                    parts.append(_file(part, at))
        return parts

    def _model_parts(self, message: JSON, where: str) -> list[JSON]:
        parts: list[JSON] = []
        reasoning = _typed(message, "reasoning_content", where, str, "a string")
        if reasoning and self._info.family != "claude":
            parts.append({"text": reasoning, "thought": True})
        parts += [{"text": t} for t in _texts(message, where, ("text", "refusal")) if t]
        calls = _typed(message, "tool_calls", where, list, "an array") or []
        parts += [self._tool_call(call, f"{where}.tool_calls[{j}]") for j, call in enumerate(calls)]
        legacy = _typed(message, "function_call", where, dict, "an object")
        if legacy is not None:
            name, args = _function_call(legacy, f"{where}.function_call")
            parts.append({"functionCall": {"name": name, "args": args}})
        return parts

    def _tool_call(self, call: object, where: str) -> JSON:
        if not isinstance(call, dict):
            raise _invalid_type(where, "an object", call)
        if call.get("type", "function") != "function":
            raise _unsupported_tool_type(call.get("type"), f"{where}.type")
        call_id = _required(call, "id", where, str, "a string")
        function = _required(call, "function", where, dict, "an object")
        name, args = _function_call(function, f"{where}.function")
        self._call_names[call_id] = name
        part: JSON = {"functionCall": {"name": name, "args": args, "id": call_id}}
        if signature := self._signatures.get(call_id, self._info.upstream):
            part["thoughtSignature"] = signature
        return part

    def _tool_result(self, message: JSON, where: str) -> JSON:
        call_id = _required(message, "tool_call_id", where, str, "a string")
        name = self._call_names.get(call_id)
        if name is None:
            raise invalid_request(
                f"Invalid '{where}.tool_call_id': {call_id!r} does not match any tool call "
                "of a preceding assistant message.",
                param=f"{where}.tool_call_id",
                code="invalid_value",
            )
        response = {"name": name, "id": call_id, "response": _result(message, where)}
        return {"functionResponse": response}


def _sign_first_call(parts: list[JSON]) -> None:
    calls = [part for part in parts if "functionCall" in part]
    if calls and not any("thoughtSignature" in part for part in calls):
        calls[0]["thoughtSignature"] = DUMMY_SIGNATURE


def _texts(message: JSON, where: str, kinds: Collection[str] = ("text",)) -> list[str]:
    """A text-only content (string or parts) as its texts; a refusal part counts as text."""
    content = message.get("content")
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        raise _invalid_type(f"{where}.content", "a string or an array", content)
    texts: list[str] = []
    for j, part in enumerate(content):
        at = f"{where}.content[{j}]"
        texts.append(_required(part, _part_type(part, at, kinds), at, str, "a string"))
    return texts


def _part_type(part: object, where: str, kinds: Collection[str]) -> str:
    if not isinstance(part, dict):
        raise _invalid_type(where, "an object", part)
    kind = part.get("type")
    if not isinstance(kind, str) or kind not in kinds:
        raise invalid_request(
            f"Invalid value for '{where}.type': {_show(kind)}. "
            f"Supported values here are: {', '.join(repr(k) for k in kinds)}.",
            param=f"{where}.type",
            code="invalid_value",
        )
    return kind


def _function_call(function: JSON, where: str) -> tuple[str, JSON]:
    """A call's name and its `arguments` (a JSON-object string) as Gemini's `args` object."""
    name = _required(function, "name", where, str, "a string")
    arguments = function.get("arguments")
    if isinstance(arguments, dict):  # some clients send the object itself
        return name, dict(arguments)
    if arguments is None or arguments == "":
        return name, {}
    if not isinstance(arguments, str):
        raise _invalid_type(f"{where}.arguments", "a string", arguments)
    try:
        args = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        args = None
    if not isinstance(args, dict):
        raise invalid_request(
            f"Invalid '{where}.arguments': it must be a JSON object serialized as a string.",
            param=f"{where}.arguments",
            code="invalid_value",
        )
    return name, args


def _result(message: JSON, where: str) -> JSON:
    text = "".join(_texts(message, where))
    try:
        value: Any = orjson.loads(text)
    except orjson.JSONDecodeError:
        value = text
    return {"result": value}


def _image(part: JSON, where: str, family: Family) -> JSON:
    image = part.get("image_url")
    at = f"{where}.image_url"
    spec = image if isinstance(image, dict) else {"url": image}  # a bare URL string is common
    url = _required(spec, "url", at, str, "a string")
    if url[:8].lower().startswith(("http://", "https://")):
        raise invalid_request(
            REMOTE_IMAGE_MESSAGE, param=f"{at}.url", code="remote_image_url_not_allowed"
        )
    out = _data_uri(url, f"{at}.url")
    detail = _typed(spec, "detail", at, str, "a string") or "auto"
    level = _option(detail, _MEDIA_RESOLUTIONS, f"{at}.detail")
    if level and family == "gemini-3":
        out["mediaResolution"] = {"level": level}
    return out


def _audio(part: JSON, where: str) -> JSON:
    at = f"{where}.input_audio"
    audio = _required(part, "input_audio", where, dict, "an object")
    data = _required(audio, "data", at, str, "a string")
    fmt = _required(audio, "format", at, str, "a string").lower()
    if not _AUDIO_FORMAT.fullmatch(fmt):
        raise invalid_request(
            f"Invalid value for '{at}.format': {fmt!r}.", param=f"{at}.format", code="invalid_value"
        )
    return _inline_data(f"audio/{fmt}", data, f"{at}.data")


def _file(part: JSON, where: str) -> JSON:
    at = f"{where}.file"
    file = _required(part, "file", where, dict, "an object")
    data = _typed(file, "file_data", at, str, "a string")
    if data is None:
        raise invalid_request(
            "Only inline files are supported: send 'file_data' (a data URI or base64 PDF); "
            "'file_id' would need the OpenAI Files API, which this proxy does not have.",
            param=f"{at}.file_data",
            code="unsupported_value",
        )
    if data.startswith("data:"):
        return _data_uri(data, f"{at}.file_data")
    return _inline_data("application/pdf", data, f"{at}.file_data")


def _data_uri(uri: str, param: str) -> JSON:
    match = _DATA_URI.fullmatch(uri)
    if match is None or not match.group(2).lower().endswith(";base64"):
        raise invalid_request(
            f"Invalid '{param}': expected a base64 data URI (data:<mime>;base64,<data>).",
            param=param,
            code="invalid_value",
        )
    return _inline_data(match.group(1).lower(), match.group(3), param)


def _inline_data(mime: str, data: str, param: str) -> JSON:
    try:
        valid = bool(binascii.a2b_base64(data, strict_mode=True))
    except ValueError:  # binascii.Error, or non-ASCII text
        valid = False
    if not valid:
        raise invalid_request(
            f"Invalid '{param}': the data is not valid base64.", param=param, code="invalid_value"
        )
    return {"inlineData": {"mimeType": mime, "data": data}}


# --- tools ----------------------------------------------------------------------------------


def _declarations(body: JSON) -> list[JSON]:
    """`tools` (and legacy `functions`) as one list of functionDeclarations."""
    declarations: dict[str, JSON] = {}
    for where, function in _function_definitions(body):
        name = _required(function, "name", where, str, "a string")
        if not _FUNCTION_NAME.fullmatch(name):
            raise invalid_request(
                f"Invalid '{where}.name': {name!r}. A function name starts with a letter or "
                "'_' and has at most 64 letters, digits, '_', '.', ':' or '-'.",
                param=f"{where}.name",
                code="invalid_value",
            )
        if name in declarations:
            raise invalid_request(
                f"Duplicate function name {name!r}.", param=f"{where}.name", code="invalid_value"
            )
        declaration: JSON = {"name": name}
        if description := _typed(function, "description", where, str, "a string"):
            declaration["description"] = description
        parameters = _typed(function, "parameters", where, dict, "an object")
        declaration["parameters"] = sanitize_schema(parameters)
        declarations[name] = declaration
    return list(declarations.values())


def _function_definitions(body: JSON) -> Iterator[tuple[str, JSON]]:
    for i, tool in enumerate(_typed(body, "tools", "", list, "an array") or []):
        where = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise _invalid_type(where, "an object", tool)
        if tool.get("type") != "function":
            raise _unsupported_tool_type(tool.get("type"), f"{where}.type")
        yield f"{where}.function", _required(tool, "function", where, dict, "an object")
    for i, function in enumerate(_typed(body, "functions", "", list, "an array") or []):
        if not isinstance(function, dict):
            raise _invalid_type(f"functions[{i}]", "an object", function)
        yield f"functions[{i}]", function


def _unsupported_tool_type(kind: object, param: str) -> OpenAIError:
    return invalid_request(
        f"Unsupported tool type {_show(kind)}: only 'function' tools are supported.",
        param=param,
        code="unsupported_value",
    )


def _tool_config(body: JSON, names: Collection[str], family: Family) -> JSON | None:
    """`tool_choice` (or legacy `function_call`) → toolConfig. Claude gets VALIDATED for AUTO,
    as Antigravity sends it (antigravity.md 1.4), even when the client chose nothing."""
    param = "tool_choice" if body.get("tool_choice") is not None else "function_call"
    choice = body.get(param)
    mode, allowed = ("AUTO", []) if choice is None else _tool_choice(choice, param, names)
    if not names:
        if mode in ("AUTO", "NONE"):
            return None
        raise invalid_request(
            f"'{param}' requires 'tools' to be given.", param=param, code="invalid_value"
        )
    if mode == "AUTO" and family == "claude":
        mode = "VALIDATED"
    elif mode == "AUTO" and choice is None:
        return None
    config: JSON = {"mode": mode}
    if allowed:
        config["allowedFunctionNames"] = allowed
    return {"functionCallingConfig": config}


def _tool_choice(choice: object, param: str, names: Collection[str]) -> tuple[str, list[str]]:
    """The calling mode and the allowed function names (empty: all)."""
    if isinstance(choice, str):
        return _option(choice, _CHOICE_MODES, param), []
    if not isinstance(choice, dict):
        raise _invalid_type(param, "a string or an object", choice)
    if param == "function_call":  # legacy: {"name": ...}
        return "ANY", [_tool_name(choice, param, names)]
    kind = choice.get("type")
    if kind == "function":
        function = _required(choice, "function", param, dict, "an object")
        return "ANY", [_tool_name(function, f"{param}.function", names)]
    if kind != "allowed_tools":
        raise _unsupported_tool_type(kind, f"{param}.type")
    at = f"{param}.allowed_tools"
    spec = _required(choice, "allowed_tools", param, dict, "an object")
    mode = _option(_required(spec, "mode", at, str, "a string"), _ALLOWED_TOOLS_MODES, f"{at}.mode")
    allowed = []
    for k, tool in enumerate(_required(spec, "tools", at, list, "an array")):
        tool_at = f"{at}.tools[{k}]"
        if not isinstance(tool, dict):
            raise _invalid_type(tool_at, "an object", tool)
        function = _required(tool, "function", tool_at, dict, "an object")
        allowed.append(_tool_name(function, f"{tool_at}.function", names))
    return mode, allowed


def _tool_name(function: JSON, where: str, names: Collection[str]) -> str:
    name = _required(function, "name", where, str, "a string")
    if name not in names:
        raise invalid_request(
            f"Invalid '{where}.name': no function named {name!r} is declared in 'tools'.",
            param=f"{where}.name",
            code="invalid_value",
        )
    return name


def _option(value: str, options: dict[str, str], param: str) -> str:
    if value not in options:
        raise invalid_request(
            f"Invalid value for '{param}': {value!r}. "
            f"Supported values are: {', '.join(repr(o) for o in options)}.",
            param=param,
            code="invalid_value",
        )
    return options[value]


# --- generation config and the rest ---------------------------------------------------------


def _generation_config(body: JSON, info: ModelInfo) -> JSON:
    penalties = {
        "presencePenalty": _number(body, "presence_penalty", -2, 2),
        "frequencyPenalty": _number(body, "frequency_penalty", -2, 2),
    }
    if info.family == "gemini-3":  # Gemini 3 rejects penalties (E.1)
        penalties = {}
    logprobs = _typed(body, "logprobs", "", bool, "a boolean")
    top_logprobs = _integer(body, "top_logprobs", 0, 20)
    if top_logprobs is not None and not logprobs:
        raise invalid_request(
            "'top_logprobs' requires 'logprobs' to be true.",
            param="top_logprobs",
            code="invalid_value",
        )
    effort = _typed(body, "reasoning_effort", "", str, "a string")
    values: JSON = {
        "temperature": _number(body, "temperature", 0, 2),
        "topP": _number(body, "top_p", 0, 1),
        "topK": _integer(body, "top_k", 1),
        "maxOutputTokens": _max_output_tokens(body, info.family),
        "stopSequences": _stop_sequences(body),
        **penalties,
        "seed": _integer(body, "seed"),
        "responseLogprobs": logprobs,
        "logprobs": top_logprobs,
        **_response_format(body),
        "thinkingConfig": thinking_config(info.family, effort, model=info.upstream),
    }
    config = {key: value for key, value in values.items() if value is not None}
    if info.family == "claude":
        _fit_thinking_budget(config)
    return config


def _max_output_tokens(body: JSON, family: Family) -> int | None:
    completion = _integer(body, "max_completion_tokens", 1)
    legacy = _integer(body, "max_tokens", 1)
    value = completion if completion is not None else legacy
    if value is not None and family == "claude":
        return min(value, CLAUDE_MAX_OUTPUT_TOKENS)
    return value


def _fit_thinking_budget(config: JSON) -> None:
    thinking, cap = config.get("thinkingConfig"), config.get("maxOutputTokens")
    if thinking and cap is not None and thinking.get("thinkingBudget", 0) >= cap:
        config["thinkingConfig"] = {**thinking, "thinkingBudget": cap - 1}


def _stop_sequences(body: JSON) -> list[str] | None:
    stop = body.get("stop")
    if stop is None:
        return None
    sequences = [stop] if isinstance(stop, str) else stop
    if not isinstance(sequences, list) or not all(isinstance(s, str) for s in sequences):
        raise _invalid_type("stop", "a string or an array of strings", stop)
    if len(sequences) > MAX_STOP_SEQUENCES:
        raise invalid_request(
            f"'stop' takes at most {MAX_STOP_SEQUENCES} sequences.",
            param="stop",
            code="invalid_value",
        )
    return sequences or None


def _response_format(body: JSON) -> JSON:
    fmt = _typed(body, "response_format", "", dict, "an object")
    kind = None if fmt is None else fmt.get("type")
    if fmt is None or kind == "text":
        return {}
    if kind == "json_object":
        return {"responseMimeType": "application/json"}
    if kind != "json_schema":
        raise invalid_request(
            f"Invalid value for 'response_format.type': {_show(kind)}. "
            "Supported values are: 'text', 'json_object' and 'json_schema'.",
            param="response_format.type",
            code="invalid_value",
        )
    spec = _required(fmt, "json_schema", "response_format", dict, "an object")
    schema = _required(spec, "schema", "response_format.json_schema", dict, "an object")
    sanitized = sanitize_response_schema(schema)
    return {"responseMimeType": "application/json"} | (
        {"responseSchema": sanitized} if sanitized else {}
    )


def _streaming(body: JSON) -> tuple[bool, bool]:
    """`stream`, and `stream_options.include_usage`, which is only allowed when streaming."""
    stream = _typed(body, "stream", "", bool, "a boolean") or False
    options = _typed(body, "stream_options", "", dict, "an object")
    if options is None:
        return stream, False
    if not stream:
        raise invalid_request(
            "'stream_options' is only allowed when 'stream' is true.",
            param="stream_options",
            code="invalid_value",
        )
    include_usage = _typed(options, "include_usage", "stream_options", bool, "a boolean")
    return True, bool(include_usage)


def _labels(body: JSON) -> dict[str, str]:
    """`metadata` as OpenAI bounds it: at most 16 pairs, keys ≤ 64 and values ≤ 512 chars."""
    metadata = _typed(body, "metadata", "", dict, "an object")
    if metadata is None:
        return {}
    if len(metadata) > 16:
        raise invalid_request(
            "'metadata' holds at most 16 pairs.", param="metadata", code="invalid_value"
        )
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise _invalid_type(f"metadata.{key}", "a string", value)
        if len(key) > 64 or len(value) > 512:
            raise invalid_request(
                "'metadata' keys are at most 64 characters and values at most 512.",
                param=f"metadata.{key}",
                code="invalid_value",
            )
    return dict(metadata)


# --- typed field access ---------------------------------------------------------------------


def _typed[T](obj: JSON, key: str, where: str, kind: type[T], expected: str) -> T | None:
    """`obj[key]` if it has the JSON type `kind` (a bool is no number); absent and null: None."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        return value
    raise _invalid_type(_param(where, key), expected, value)


def _required[T](obj: JSON, key: str, where: str, kind: type[T], expected: str) -> T:
    value = _typed(obj, key, where, kind, expected)
    if value is None:
        param = _param(where, key)
        raise invalid_request(
            f"Missing required parameter: '{param}'.",
            param=param,
            code="missing_required_parameter",
        )
    return value


def _number(body: JSON, key: str, low: float, high: float) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid_type(key, "a number", value)
    if not low <= value <= high:
        raise invalid_request(
            f"Invalid value for '{key}': expected a number from {low:g} to {high:g}, got {value}.",
            param=key,
            code="invalid_value",
        )
    return value


def _integer(body: JSON, key: str, low: int | None = None, high: int | None = None) -> int | None:
    value = _typed(body, key, "", int, "an integer")
    if value is None:
        return None
    too_low = low is not None and value < low
    too_high = high is not None and value > high
    if too_low or too_high:
        bounds = f"at least {low}" if high is None else f"from {low} to {high}"
        raise invalid_request(
            f"Invalid value for '{key}': expected an integer {bounds}, got {value}.",
            param=key,
            code="invalid_value",
        )
    return value


def _param(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _invalid_type(param: str, expected: str, value: object) -> OpenAIError:
    return invalid_request(
        f"Invalid type for '{param}': expected {expected}, but got {_json_type(value)} instead.",
        param=param,
        code="invalid_type",
    )


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _show(value: object) -> str:
    return repr(value) if isinstance(value, str) else _json_type(value)

"""The OpenAI → Gemini request mapping that Chat Completions and Responses share (protocols.md E).

Pure: no I/O. chat.py and responses.py read their own API's shapes and hand the values to these
builders, so a rule that means the same in both (merging turns, thought signatures, function
declarations and results, tool modes, generation parameters, metadata, inline media) is written
once. Every builder takes the path of what it reads, so a 400's `param` names the field as the
caller's client wrote it.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import orjson

from zerogravity_proxy.gemini.schema import sanitize_response_schema, sanitize_schema
from zerogravity_proxy.gemini.spec import JSON
from zerogravity_proxy.gemini.thinking import thinking_config
from zerogravity_proxy.openai.errors import invalid_request
from zerogravity_proxy.openai.models import Family, ModelInfo
from zerogravity_proxy.openai.validate import invalid_type, option, required, typed

DUMMY_SIGNATURE = "skip_thought_signature_validator"
CLAUDE_MAX_OUTPUT_TOKENS = 64_000
REMOTE_IMAGE_MESSAGE = (
    "Image URLs are not fetched by this proxy. Send the image inline as a data URI "
    "(data:<mime>;base64,<data>), or have the operator enable `fetch_remote_images` "
    "(ZEROGRAVITY_FETCH_REMOTE_IMAGES=1)."
)
# tool_choice as a string, and allowed_tools' mode, → functionCallingConfig.mode
CHOICE_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
ALLOWED_TOOLS_MODES = {"auto": "VALIDATED", "required": "ANY"}
# an image's `detail` → the part's mediaResolution level ("": none sent)
MEDIA_RESOLUTIONS = {"auto": "", "low": "MEDIA_RESOLUTION_LOW", "high": "MEDIA_RESOLUTION_HIGH"}

_FUNCTION_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}")
_DATA_URI = re.compile(r"data:([\w.+-]+/[\w.+-]+)((?:;[^;,]*)*),(.*)", re.DOTALL)
_AUDIO_FORMAT = re.compile(r"[a-z0-9]{1,16}")


# --- contents -------------------------------------------------------------------------------


class Contents:
    """`contents` and `systemInstruction`, built turn by turn (E.2).

    Gemini wants user and model turns to alternate, so parts appended with the role of the last
    turn join it (tool results and the user message after them become one `user` content).
    System texts collect in order, one part each, wherever they stood in the conversation.
    """

    def __init__(self, family: Family) -> None:
        self._family = family
        self._system: list[JSON] = []
        self._contents: list[JSON] = []

    def append(self, role: str, parts: list[JSON]) -> None:
        """Add parts to the conversation as `role` ("user" or "model"); no parts, no turn."""
        if not parts:
            return
        if self._contents and self._contents[-1]["role"] == role:
            self._contents[-1]["parts"] += parts
        else:
            self._contents.append({"role": role, "parts": parts})

    def add_system(self, texts: Iterable[str]) -> None:
        """Add system (or developer) texts to `systemInstruction`; empty texts are dropped."""
        self._system += [{"text": text} for text in texts if text]

    def contents(self) -> list[JSON]:
        """The turns, never empty (Gemini refuses that: a lone space stands in).

        A model turn whose calls carry no thought signature gets the documented dummy on its
        first call (D.3: never on later parallel calls), except on Claude, which rejects it
        (antigravity.md 1.8). The functionResponse parts of a user turn follow the order of the
        calls in the model turn before it (E.2), whatever order the client sent the results in.
        """
        previous: JSON | None = None
        for content in self._contents:
            if content["role"] == "model":
                if self._family != "claude":
                    _sign_first_call(content["parts"])
            elif previous is not None:
                _order_responses(content["parts"], previous["parts"])
            previous = content
        return self._contents or [{"role": "user", "parts": [{"text": " "}]}]

    def system_instruction(self) -> JSON | None:
        return {"parts": self._system} if self._system else None


def _sign_first_call(parts: list[JSON]) -> None:
    calls = [part for part in parts if "functionCall" in part]
    if calls and not any("thoughtSignature" in part for part in calls):
        calls[0]["thoughtSignature"] = DUMMY_SIGNATURE


def _order_responses(parts: list[JSON], model_parts: list[JSON]) -> None:
    """Put the functionResponse parts of `parts` in the order of the calls in `model_parts`
    (matched by id), in the places they occupy; unknown ids keep their order, at the end."""
    order = {
        call_id: k
        for k, part in enumerate(model_parts)
        if "functionCall" in part and (call_id := part["functionCall"].get("id")) is not None
    }
    slots = [k for k, part in enumerate(parts) if "functionResponse" in part]
    if len(slots) < 2:
        return
    unknown = len(model_parts)
    responses = sorted(
        (parts[k] for k in slots),
        key=lambda part: order.get(part["functionResponse"].get("id"), unknown),
    )
    for k, part in zip(slots, responses, strict=True):
        parts[k] = part


# --- parts ----------------------------------------------------------------------------------


def function_call(function: JSON, where: str) -> tuple[str, JSON]:
    """A call's `name`, and its `arguments` (a JSON-object string) as Gemini's `args` object."""
    name = required(function, "name", where, str, "a string")
    arguments = function.get("arguments")
    if isinstance(arguments, dict):  # some clients send the object itself
        return name, dict(arguments)
    if arguments is None or arguments == "":
        return name, {}
    if not isinstance(arguments, str):
        raise invalid_type(f"{where}.arguments", "a string", arguments)
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


def function_call_part(
    name: str, args: JSON, call_id: str | None = None, signature: str | None = None
) -> JSON:
    """A functionCall part; the call id is left out for legacy calls, which have none."""
    call: JSON = {"name": name, "args": args}
    if call_id is not None:
        call["id"] = call_id
    part: JSON = {"functionCall": call}
    if signature:
        part["thoughtSignature"] = signature
    return part


def function_response_part(name: str, call_id: str | None, output: str) -> JSON:
    """A function's output as a functionResponse part.

    The response is `{"result": <the output parsed as JSON, or the text when it is not JSON>}`:
    one shape for objects, scalars and text, since OpenAI outputs are untyped strings.
    """
    try:
        value: Any = orjson.loads(output)
    except orjson.JSONDecodeError:
        value = output
    response: JSON = {"name": name}
    if call_id is not None:
        response["id"] = call_id
    response["response"] = {"result": value}
    return {"functionResponse": response}


def image(
    url: str,
    param: str,
    options: JSON,
    where: str,
    family: Family,
    details: Mapping[str, str] = MEDIA_RESOLUTIONS,
) -> tuple[JSON, str]:
    """An image URL (the field `param`) as a part, and the `detail` it asked for.

    Images must arrive as data URIs: the sidecar inlines http(s) URLs before we run when
    `fetch_remote_images` is on, so one still remote here is refused. `detail` (read from
    `options` at `where`; default "auto") maps through `details` to the part's
    `mediaResolution`, sent on Gemini 3 only, the one family that has it.
    """
    if url[:8].lower().startswith(("http://", "https://")):
        raise invalid_request(
            REMOTE_IMAGE_MESSAGE, param=param, code="remote_image_url_not_allowed"
        )
    part = data_uri(url, param)
    detail = typed(options, "detail", where, str, "a string") or "auto"
    level = option(detail, details, f"{where}.detail")
    if level and family == "gemini-3":
        part["mediaResolution"] = {"level": level}
    return part, detail


def audio(part: JSON, where: str) -> JSON:
    """An `input_audio` part (base64 `data` and its `format`, e.g. wav) as inlineData."""
    at = f"{where}.input_audio"
    spec = required(part, "input_audio", where, dict, "an object")
    data = required(spec, "data", at, str, "a string")
    fmt = required(spec, "format", at, str, "a string").lower()
    if not _AUDIO_FORMAT.fullmatch(fmt):
        raise invalid_request(
            f"Invalid value for '{at}.format': {fmt!r}.", param=f"{at}.format", code="invalid_value"
        )
    return inline_data(f"audio/{fmt}", data, f"{at}.data")


def file_data(data: str, param: str) -> JSON:
    """A file's `file_data` as inlineData: a data URI, or bare base64, which is taken as a PDF
    (the one file type Chat Completions accepts, and Responses' default)."""
    if data.startswith("data:"):
        return data_uri(data, param)
    return inline_data("application/pdf", data, param)


def data_uri(uri: str, param: str) -> JSON:
    """A base64 data URI as inlineData, its MIME type lower-cased."""
    match = _DATA_URI.fullmatch(uri)
    if match is None or not match.group(2).lower().endswith(";base64"):
        raise invalid_request(
            f"Invalid '{param}': expected a base64 data URI (data:<mime>;base64,<data>).",
            param=param,
            code="invalid_value",
        )
    return inline_data(match.group(1).lower(), match.group(3), param)


def inline_data(mime: str, data: str, param: str) -> JSON:
    """An inlineData part, once `data` is known to be base64: Gemini's error would not say
    which field was wrong."""
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


def no_search_with_functions(declarations: list[JSON], search: bool, param: str) -> None:
    """Web search next to function tools is a 400 `unsupported_tool_combination`: Cloud Code
    refuses `googleSearch` beside `functionDeclarations` (antigravity.md 1.4), and silently
    dropping either kind of tool would answer a different request."""
    if declarations and search:
        raise invalid_request(
            "Function tools cannot be combined with web search: Gemini refuses 'googleSearch' "
            "next to function declarations. Send web search in a request of its own.",
            param=param,
            code="unsupported_tool_combination",
        )


def function_declarations(functions: Iterable[tuple[str, JSON]]) -> list[JSON]:
    """Function definitions, each with the path the client wrote it at, as functionDeclarations.

    Names are checked as Gemini checks them and must be unique; parameters are sanitized to the
    schema subset Gemini accepts. Errors name `<path>.name` and so on, in the caller's terms.
    """
    declarations: dict[str, JSON] = {}
    for where, function in functions:
        name = required(function, "name", where, str, "a string")
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
        if description := typed(function, "description", where, str, "a string"):
            declaration["description"] = description
        parameters = sanitize_schema(typed(function, "parameters", where, dict, "an object"))
        if _has_parameters(parameters):
            declaration["parameters"] = parameters
        declarations[name] = declaration
    return list(declarations.values())


def _has_parameters(schema: JSON) -> bool:
    """False for an object schema without properties (a function with no arguments): Gemini
    rejects it ("properties: should be non-empty for OBJECT type"), so it is left out."""
    return str(schema.get("type", "object")).lower() != "object" or bool(schema.get("properties"))


def tool_name(function: JSON, where: str, names: Collection[str]) -> str:
    """The `name` a tool choice picks, which must be one of the declared functions."""
    name = required(function, "name", where, str, "a string")
    if name not in names:
        raise invalid_request(
            f"Invalid '{where}.name': no function named {name!r} is declared in 'tools'.",
            param=f"{where}.name",
            code="invalid_value",
        )
    return name


def tool_config(
    choice: tuple[str, list[str]] | None, names: Collection[str], family: Family, param: str
) -> JSON | None:
    """A parsed tool choice → toolConfig, or None to leave the choice to Gemini.

    `choice` is the calling mode and the allowed function names (empty: all), or None when the
    client chose nothing; `names` are the declared functions and `param` the choice's field.
    Claude gets VALIDATED for AUTO, as Antigravity sends it (antigravity.md 1.4), even when the
    client chose nothing.
    """
    mode, allowed = ("AUTO", []) if choice is None else choice
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


# --- generation config and the rest ---------------------------------------------------------


def generation_config(info: ModelInfo, effort: str | None, fields: JSON) -> JSON:
    """generationConfig from `fields` (validated, in Gemini's names; None values are left out)
    and the reasoning effort, with what each model family needs.

    Gemini 3 rejects penalties (E.1), so they are dropped. Claude writes at most
    CLAUDE_MAX_OUTPUT_TOKENS and its thinking budget must stay below `maxOutputTokens`
    (antigravity.md 1.4), so both are lowered to fit.
    """
    config = {key: value for key, value in fields.items() if value is not None}
    if info.family == "gemini-3":
        config.pop("presencePenalty", None)
        config.pop("frequencyPenalty", None)
    cap = config.get("maxOutputTokens")
    if cap is not None and info.family == "claude":
        config["maxOutputTokens"] = cap = min(cap, CLAUDE_MAX_OUTPUT_TOKENS)
    thinking = thinking_config(info.family, effort, model=info.upstream)
    if thinking is not None:
        if info.family == "claude" and cap is not None and thinking.get("thinkingBudget", 0) >= cap:
            thinking = {**thinking, "thinkingBudget": cap - 1}
        config["thinkingConfig"] = thinking
    return config


def json_output(schema: JSON | None = None) -> JSON:
    """The generationConfig fields asking for JSON, shaped by `schema` when one is given
    (sanitized to what Gemini accepts; nothing left of it, no responseSchema)."""
    sanitized = None if schema is None else sanitize_response_schema(schema)
    fields: JSON = {"responseMimeType": "application/json"}
    return fields | ({"responseSchema": sanitized} if sanitized else {})


def streaming(body: JSON) -> tuple[bool, bool]:
    """`stream`, and `stream_options.include_usage`, which is only allowed when streaming."""
    stream = typed(body, "stream", "", bool, "a boolean") or False
    options = typed(body, "stream_options", "", dict, "an object")
    if options is None:
        return stream, False
    if not stream:
        raise invalid_request(
            "'stream_options' is only allowed when 'stream' is true.",
            param="stream_options",
            code="invalid_value",
        )
    include_usage = typed(options, "include_usage", "stream_options", bool, "a boolean")
    return True, bool(include_usage)


def metadata_labels(body: JSON) -> dict[str, str]:
    """`metadata` as the exchange's labels, bounded as OpenAI bounds it: at most 16 pairs, keys
    ≤ 64 and values ≤ 512 characters (a request OpenAI would refuse is refused here too)."""
    metadata = typed(body, "metadata", "", dict, "an object")
    if metadata is None:
        return {}
    if len(metadata) > 16:
        raise invalid_request(
            "'metadata' holds at most 16 pairs.", param="metadata", code="invalid_value"
        )
    for key, value in metadata.items():
        if not isinstance(value, str):
            raise invalid_type(f"metadata.{key}", "a string", value)
        if len(key) > 64 or len(value) > 512:
            raise invalid_request(
                "'metadata' keys are at most 64 characters and values at most 512.",
                param=f"metadata.{key}",
                code="invalid_value",
            )
    return dict(metadata)

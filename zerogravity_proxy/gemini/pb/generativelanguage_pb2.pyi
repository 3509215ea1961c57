import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TYPE_UNSPECIFIED: _ClassVar[Type]
    STRING: _ClassVar[Type]
    NUMBER: _ClassVar[Type]
    INTEGER: _ClassVar[Type]
    BOOLEAN: _ClassVar[Type]
    ARRAY: _ClassVar[Type]
    OBJECT: _ClassVar[Type]
    NULL: _ClassVar[Type]

class HarmCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HARM_CATEGORY_UNSPECIFIED: _ClassVar[HarmCategory]
    HARM_CATEGORY_DEROGATORY: _ClassVar[HarmCategory]
    HARM_CATEGORY_TOXICITY: _ClassVar[HarmCategory]
    HARM_CATEGORY_VIOLENCE: _ClassVar[HarmCategory]
    HARM_CATEGORY_SEXUAL: _ClassVar[HarmCategory]
    HARM_CATEGORY_MEDICAL: _ClassVar[HarmCategory]
    HARM_CATEGORY_DANGEROUS: _ClassVar[HarmCategory]
    HARM_CATEGORY_HARASSMENT: _ClassVar[HarmCategory]
    HARM_CATEGORY_HATE_SPEECH: _ClassVar[HarmCategory]
    HARM_CATEGORY_SEXUALLY_EXPLICIT: _ClassVar[HarmCategory]
    HARM_CATEGORY_DANGEROUS_CONTENT: _ClassVar[HarmCategory]
    HARM_CATEGORY_CIVIC_INTEGRITY: _ClassVar[HarmCategory]

class Modality(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODALITY_UNSPECIFIED: _ClassVar[Modality]
    TEXT: _ClassVar[Modality]
    IMAGE: _ClassVar[Modality]
    VIDEO: _ClassVar[Modality]
    AUDIO: _ClassVar[Modality]
    DOCUMENT: _ClassVar[Modality]
TYPE_UNSPECIFIED: Type
STRING: Type
NUMBER: Type
INTEGER: Type
BOOLEAN: Type
ARRAY: Type
OBJECT: Type
NULL: Type
HARM_CATEGORY_UNSPECIFIED: HarmCategory
HARM_CATEGORY_DEROGATORY: HarmCategory
HARM_CATEGORY_TOXICITY: HarmCategory
HARM_CATEGORY_VIOLENCE: HarmCategory
HARM_CATEGORY_SEXUAL: HarmCategory
HARM_CATEGORY_MEDICAL: HarmCategory
HARM_CATEGORY_DANGEROUS: HarmCategory
HARM_CATEGORY_HARASSMENT: HarmCategory
HARM_CATEGORY_HATE_SPEECH: HarmCategory
HARM_CATEGORY_SEXUALLY_EXPLICIT: HarmCategory
HARM_CATEGORY_DANGEROUS_CONTENT: HarmCategory
HARM_CATEGORY_CIVIC_INTEGRITY: HarmCategory
MODALITY_UNSPECIFIED: Modality
TEXT: Modality
IMAGE: Modality
VIDEO: Modality
AUDIO: Modality
DOCUMENT: Modality

class GenerateContentRequest(_message.Message):
    __slots__ = ("model", "system_instruction", "contents", "tools", "tool_config", "safety_settings", "generation_config", "cached_content")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SYSTEM_INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_FIELD_NUMBER: _ClassVar[int]
    TOOLS_FIELD_NUMBER: _ClassVar[int]
    TOOL_CONFIG_FIELD_NUMBER: _ClassVar[int]
    SAFETY_SETTINGS_FIELD_NUMBER: _ClassVar[int]
    GENERATION_CONFIG_FIELD_NUMBER: _ClassVar[int]
    CACHED_CONTENT_FIELD_NUMBER: _ClassVar[int]
    model: str
    system_instruction: Content
    contents: _containers.RepeatedCompositeFieldContainer[Content]
    tools: _containers.RepeatedCompositeFieldContainer[Tool]
    tool_config: ToolConfig
    safety_settings: _containers.RepeatedCompositeFieldContainer[SafetySetting]
    generation_config: GenerationConfig
    cached_content: str
    def __init__(self, model: _Optional[str] = ..., system_instruction: _Optional[_Union[Content, _Mapping]] = ..., contents: _Optional[_Iterable[_Union[Content, _Mapping]]] = ..., tools: _Optional[_Iterable[_Union[Tool, _Mapping]]] = ..., tool_config: _Optional[_Union[ToolConfig, _Mapping]] = ..., safety_settings: _Optional[_Iterable[_Union[SafetySetting, _Mapping]]] = ..., generation_config: _Optional[_Union[GenerationConfig, _Mapping]] = ..., cached_content: _Optional[str] = ...) -> None: ...

class CountTokensRequest(_message.Message):
    __slots__ = ("model", "contents", "generate_content_request")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CONTENTS_FIELD_NUMBER: _ClassVar[int]
    GENERATE_CONTENT_REQUEST_FIELD_NUMBER: _ClassVar[int]
    model: str
    contents: _containers.RepeatedCompositeFieldContainer[Content]
    generate_content_request: GenerateContentRequest
    def __init__(self, model: _Optional[str] = ..., contents: _Optional[_Iterable[_Union[Content, _Mapping]]] = ..., generate_content_request: _Optional[_Union[GenerateContentRequest, _Mapping]] = ...) -> None: ...

class CountTokensResponse(_message.Message):
    __slots__ = ("total_tokens", "cached_content_token_count", "prompt_tokens_details", "cache_tokens_details")
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHED_CONTENT_TOKEN_COUNT_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_DETAILS_FIELD_NUMBER: _ClassVar[int]
    CACHE_TOKENS_DETAILS_FIELD_NUMBER: _ClassVar[int]
    total_tokens: int
    cached_content_token_count: int
    prompt_tokens_details: _containers.RepeatedCompositeFieldContainer[ModalityTokenCount]
    cache_tokens_details: _containers.RepeatedCompositeFieldContainer[ModalityTokenCount]
    def __init__(self, total_tokens: _Optional[int] = ..., cached_content_token_count: _Optional[int] = ..., prompt_tokens_details: _Optional[_Iterable[_Union[ModalityTokenCount, _Mapping]]] = ..., cache_tokens_details: _Optional[_Iterable[_Union[ModalityTokenCount, _Mapping]]] = ...) -> None: ...

class Content(_message.Message):
    __slots__ = ("parts", "role")
    PARTS_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    parts: _containers.RepeatedCompositeFieldContainer[Part]
    role: str
    def __init__(self, parts: _Optional[_Iterable[_Union[Part, _Mapping]]] = ..., role: _Optional[str] = ...) -> None: ...

class Part(_message.Message):
    __slots__ = ("text", "inline_data", "function_call", "function_response", "file_data", "executable_code", "code_execution_result", "video_metadata", "thought", "thought_signature", "part_metadata")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    INLINE_DATA_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_CALL_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    FILE_DATA_FIELD_NUMBER: _ClassVar[int]
    EXECUTABLE_CODE_FIELD_NUMBER: _ClassVar[int]
    CODE_EXECUTION_RESULT_FIELD_NUMBER: _ClassVar[int]
    VIDEO_METADATA_FIELD_NUMBER: _ClassVar[int]
    THOUGHT_FIELD_NUMBER: _ClassVar[int]
    THOUGHT_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    PART_METADATA_FIELD_NUMBER: _ClassVar[int]
    text: str
    inline_data: Blob
    function_call: FunctionCall
    function_response: FunctionResponse
    file_data: FileData
    executable_code: ExecutableCode
    code_execution_result: CodeExecutionResult
    video_metadata: VideoMetadata
    thought: bool
    thought_signature: bytes
    part_metadata: _struct_pb2.Struct
    def __init__(self, text: _Optional[str] = ..., inline_data: _Optional[_Union[Blob, _Mapping]] = ..., function_call: _Optional[_Union[FunctionCall, _Mapping]] = ..., function_response: _Optional[_Union[FunctionResponse, _Mapping]] = ..., file_data: _Optional[_Union[FileData, _Mapping]] = ..., executable_code: _Optional[_Union[ExecutableCode, _Mapping]] = ..., code_execution_result: _Optional[_Union[CodeExecutionResult, _Mapping]] = ..., video_metadata: _Optional[_Union[VideoMetadata, _Mapping]] = ..., thought: _Optional[bool] = ..., thought_signature: _Optional[bytes] = ..., part_metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class Blob(_message.Message):
    __slots__ = ("mime_type", "data")
    MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    mime_type: str
    data: bytes
    def __init__(self, mime_type: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class FileData(_message.Message):
    __slots__ = ("mime_type", "file_uri")
    MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    FILE_URI_FIELD_NUMBER: _ClassVar[int]
    mime_type: str
    file_uri: str
    def __init__(self, mime_type: _Optional[str] = ..., file_uri: _Optional[str] = ...) -> None: ...

class VideoMetadata(_message.Message):
    __slots__ = ("start_offset", "end_offset", "fps")
    START_OFFSET_FIELD_NUMBER: _ClassVar[int]
    END_OFFSET_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    start_offset: _duration_pb2.Duration
    end_offset: _duration_pb2.Duration
    fps: float
    def __init__(self, start_offset: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., end_offset: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., fps: _Optional[float] = ...) -> None: ...

class FunctionCall(_message.Message):
    __slots__ = ("id", "name", "args")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    args: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., args: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class FunctionResponse(_message.Message):
    __slots__ = ("id", "name", "response", "parts", "will_continue", "scheduling")
    class Scheduling(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        SCHEDULING_UNSPECIFIED: _ClassVar[FunctionResponse.Scheduling]
        SILENT: _ClassVar[FunctionResponse.Scheduling]
        WHEN_IDLE: _ClassVar[FunctionResponse.Scheduling]
        INTERRUPT: _ClassVar[FunctionResponse.Scheduling]
    SCHEDULING_UNSPECIFIED: FunctionResponse.Scheduling
    SILENT: FunctionResponse.Scheduling
    WHEN_IDLE: FunctionResponse.Scheduling
    INTERRUPT: FunctionResponse.Scheduling
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    WILL_CONTINUE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULING_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    response: _struct_pb2.Struct
    parts: _containers.RepeatedCompositeFieldContainer[FunctionResponsePart]
    will_continue: bool
    scheduling: FunctionResponse.Scheduling
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., response: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., parts: _Optional[_Iterable[_Union[FunctionResponsePart, _Mapping]]] = ..., will_continue: _Optional[bool] = ..., scheduling: _Optional[_Union[FunctionResponse.Scheduling, str]] = ...) -> None: ...

class FunctionResponsePart(_message.Message):
    __slots__ = ("inline_data",)
    INLINE_DATA_FIELD_NUMBER: _ClassVar[int]
    inline_data: FunctionResponseBlob
    def __init__(self, inline_data: _Optional[_Union[FunctionResponseBlob, _Mapping]] = ...) -> None: ...

class FunctionResponseBlob(_message.Message):
    __slots__ = ("mime_type", "data")
    MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    mime_type: str
    data: bytes
    def __init__(self, mime_type: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class ExecutableCode(_message.Message):
    __slots__ = ("language", "code")
    class Language(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        LANGUAGE_UNSPECIFIED: _ClassVar[ExecutableCode.Language]
        PYTHON: _ClassVar[ExecutableCode.Language]
    LANGUAGE_UNSPECIFIED: ExecutableCode.Language
    PYTHON: ExecutableCode.Language
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    language: ExecutableCode.Language
    code: str
    def __init__(self, language: _Optional[_Union[ExecutableCode.Language, str]] = ..., code: _Optional[str] = ...) -> None: ...

class CodeExecutionResult(_message.Message):
    __slots__ = ("outcome", "output")
    class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        OUTCOME_UNSPECIFIED: _ClassVar[CodeExecutionResult.Outcome]
        OUTCOME_OK: _ClassVar[CodeExecutionResult.Outcome]
        OUTCOME_FAILED: _ClassVar[CodeExecutionResult.Outcome]
        OUTCOME_DEADLINE_EXCEEDED: _ClassVar[CodeExecutionResult.Outcome]
    OUTCOME_UNSPECIFIED: CodeExecutionResult.Outcome
    OUTCOME_OK: CodeExecutionResult.Outcome
    OUTCOME_FAILED: CodeExecutionResult.Outcome
    OUTCOME_DEADLINE_EXCEEDED: CodeExecutionResult.Outcome
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    outcome: CodeExecutionResult.Outcome
    output: str
    def __init__(self, outcome: _Optional[_Union[CodeExecutionResult.Outcome, str]] = ..., output: _Optional[str] = ...) -> None: ...

class Tool(_message.Message):
    __slots__ = ("function_declarations", "google_search_retrieval", "code_execution", "google_search", "computer_use", "url_context", "file_search", "google_maps")
    class GoogleSearch(_message.Message):
        __slots__ = ("time_range_filter",)
        TIME_RANGE_FILTER_FIELD_NUMBER: _ClassVar[int]
        time_range_filter: Interval
        def __init__(self, time_range_filter: _Optional[_Union[Interval, _Mapping]] = ...) -> None: ...
    class ComputerUse(_message.Message):
        __slots__ = ("environment", "excluded_predefined_functions")
        class Environment(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
            __slots__ = ()
            ENVIRONMENT_UNSPECIFIED: _ClassVar[Tool.ComputerUse.Environment]
            ENVIRONMENT_BROWSER: _ClassVar[Tool.ComputerUse.Environment]
        ENVIRONMENT_UNSPECIFIED: Tool.ComputerUse.Environment
        ENVIRONMENT_BROWSER: Tool.ComputerUse.Environment
        ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
        EXCLUDED_PREDEFINED_FUNCTIONS_FIELD_NUMBER: _ClassVar[int]
        environment: Tool.ComputerUse.Environment
        excluded_predefined_functions: _containers.RepeatedScalarFieldContainer[str]
        def __init__(self, environment: _Optional[_Union[Tool.ComputerUse.Environment, str]] = ..., excluded_predefined_functions: _Optional[_Iterable[str]] = ...) -> None: ...
    FUNCTION_DECLARATIONS_FIELD_NUMBER: _ClassVar[int]
    GOOGLE_SEARCH_RETRIEVAL_FIELD_NUMBER: _ClassVar[int]
    CODE_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    GOOGLE_SEARCH_FIELD_NUMBER: _ClassVar[int]
    COMPUTER_USE_FIELD_NUMBER: _ClassVar[int]
    URL_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    FILE_SEARCH_FIELD_NUMBER: _ClassVar[int]
    GOOGLE_MAPS_FIELD_NUMBER: _ClassVar[int]
    function_declarations: _containers.RepeatedCompositeFieldContainer[FunctionDeclaration]
    google_search_retrieval: GoogleSearchRetrieval
    code_execution: CodeExecution
    google_search: Tool.GoogleSearch
    computer_use: Tool.ComputerUse
    url_context: UrlContext
    file_search: FileSearch
    google_maps: GoogleMaps
    def __init__(self, function_declarations: _Optional[_Iterable[_Union[FunctionDeclaration, _Mapping]]] = ..., google_search_retrieval: _Optional[_Union[GoogleSearchRetrieval, _Mapping]] = ..., code_execution: _Optional[_Union[CodeExecution, _Mapping]] = ..., google_search: _Optional[_Union[Tool.GoogleSearch, _Mapping]] = ..., computer_use: _Optional[_Union[Tool.ComputerUse, _Mapping]] = ..., url_context: _Optional[_Union[UrlContext, _Mapping]] = ..., file_search: _Optional[_Union[FileSearch, _Mapping]] = ..., google_maps: _Optional[_Union[GoogleMaps, _Mapping]] = ...) -> None: ...

class Interval(_message.Message):
    __slots__ = ("start_time", "end_time")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LatLng(_message.Message):
    __slots__ = ("latitude", "longitude")
    LATITUDE_FIELD_NUMBER: _ClassVar[int]
    LONGITUDE_FIELD_NUMBER: _ClassVar[int]
    latitude: float
    longitude: float
    def __init__(self, latitude: _Optional[float] = ..., longitude: _Optional[float] = ...) -> None: ...

class GoogleSearchRetrieval(_message.Message):
    __slots__ = ("dynamic_retrieval_config",)
    DYNAMIC_RETRIEVAL_CONFIG_FIELD_NUMBER: _ClassVar[int]
    dynamic_retrieval_config: DynamicRetrievalConfig
    def __init__(self, dynamic_retrieval_config: _Optional[_Union[DynamicRetrievalConfig, _Mapping]] = ...) -> None: ...

class DynamicRetrievalConfig(_message.Message):
    __slots__ = ("mode", "dynamic_threshold")
    class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        MODE_UNSPECIFIED: _ClassVar[DynamicRetrievalConfig.Mode]
        MODE_DYNAMIC: _ClassVar[DynamicRetrievalConfig.Mode]
    MODE_UNSPECIFIED: DynamicRetrievalConfig.Mode
    MODE_DYNAMIC: DynamicRetrievalConfig.Mode
    MODE_FIELD_NUMBER: _ClassVar[int]
    DYNAMIC_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    mode: DynamicRetrievalConfig.Mode
    dynamic_threshold: float
    def __init__(self, mode: _Optional[_Union[DynamicRetrievalConfig.Mode, str]] = ..., dynamic_threshold: _Optional[float] = ...) -> None: ...

class CodeExecution(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UrlContext(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class FileSearch(_message.Message):
    __slots__ = ("retrieval_resources", "retrieval_config")
    class RetrievalResource(_message.Message):
        __slots__ = ("rag_store_name",)
        RAG_STORE_NAME_FIELD_NUMBER: _ClassVar[int]
        rag_store_name: str
        def __init__(self, rag_store_name: _Optional[str] = ...) -> None: ...
    class RetrievalConfig(_message.Message):
        __slots__ = ("top_k", "metadata_filter")
        TOP_K_FIELD_NUMBER: _ClassVar[int]
        METADATA_FILTER_FIELD_NUMBER: _ClassVar[int]
        top_k: int
        metadata_filter: str
        def __init__(self, top_k: _Optional[int] = ..., metadata_filter: _Optional[str] = ...) -> None: ...
    RETRIEVAL_RESOURCES_FIELD_NUMBER: _ClassVar[int]
    RETRIEVAL_CONFIG_FIELD_NUMBER: _ClassVar[int]
    retrieval_resources: _containers.RepeatedCompositeFieldContainer[FileSearch.RetrievalResource]
    retrieval_config: FileSearch.RetrievalConfig
    def __init__(self, retrieval_resources: _Optional[_Iterable[_Union[FileSearch.RetrievalResource, _Mapping]]] = ..., retrieval_config: _Optional[_Union[FileSearch.RetrievalConfig, _Mapping]] = ...) -> None: ...

class GoogleMaps(_message.Message):
    __slots__ = ("enable_widget",)
    ENABLE_WIDGET_FIELD_NUMBER: _ClassVar[int]
    enable_widget: bool
    def __init__(self, enable_widget: _Optional[bool] = ...) -> None: ...

class FunctionDeclaration(_message.Message):
    __slots__ = ("name", "description", "parameters", "parameters_json_schema", "response", "response_json_schema", "behavior")
    class Behavior(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        UNSPECIFIED: _ClassVar[FunctionDeclaration.Behavior]
        BLOCKING: _ClassVar[FunctionDeclaration.Behavior]
        NON_BLOCKING: _ClassVar[FunctionDeclaration.Behavior]
    UNSPECIFIED: FunctionDeclaration.Behavior
    BLOCKING: FunctionDeclaration.Behavior
    NON_BLOCKING: FunctionDeclaration.Behavior
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_JSON_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_JSON_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    BEHAVIOR_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    parameters: Schema
    parameters_json_schema: _struct_pb2.Value
    response: Schema
    response_json_schema: _struct_pb2.Value
    behavior: FunctionDeclaration.Behavior
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., parameters: _Optional[_Union[Schema, _Mapping]] = ..., parameters_json_schema: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., response: _Optional[_Union[Schema, _Mapping]] = ..., response_json_schema: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., behavior: _Optional[_Union[FunctionDeclaration.Behavior, str]] = ...) -> None: ...

class Schema(_message.Message):
    __slots__ = ("type", "format", "title", "description", "nullable", "enum", "items", "max_items", "min_items", "properties", "required", "min_properties", "max_properties", "minimum", "maximum", "min_length", "max_length", "pattern", "example", "any_of", "property_ordering", "default")
    class PropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Schema
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Schema, _Mapping]] = ...) -> None: ...
    TYPE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    NULLABLE_FIELD_NUMBER: _ClassVar[int]
    ENUM_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    MAX_ITEMS_FIELD_NUMBER: _ClassVar[int]
    MIN_ITEMS_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    MIN_PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    MAX_PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_FIELD_NUMBER: _ClassVar[int]
    MAXIMUM_FIELD_NUMBER: _ClassVar[int]
    MIN_LENGTH_FIELD_NUMBER: _ClassVar[int]
    MAX_LENGTH_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    EXAMPLE_FIELD_NUMBER: _ClassVar[int]
    ANY_OF_FIELD_NUMBER: _ClassVar[int]
    PROPERTY_ORDERING_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_FIELD_NUMBER: _ClassVar[int]
    type: Type
    format: str
    title: str
    description: str
    nullable: bool
    enum: _containers.RepeatedScalarFieldContainer[str]
    items: Schema
    max_items: int
    min_items: int
    properties: _containers.MessageMap[str, Schema]
    required: _containers.RepeatedScalarFieldContainer[str]
    min_properties: int
    max_properties: int
    minimum: float
    maximum: float
    min_length: int
    max_length: int
    pattern: str
    example: _struct_pb2.Value
    any_of: _containers.RepeatedCompositeFieldContainer[Schema]
    property_ordering: _containers.RepeatedScalarFieldContainer[str]
    default: _struct_pb2.Value
    def __init__(self, type: _Optional[_Union[Type, str]] = ..., format: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., nullable: _Optional[bool] = ..., enum: _Optional[_Iterable[str]] = ..., items: _Optional[_Union[Schema, _Mapping]] = ..., max_items: _Optional[int] = ..., min_items: _Optional[int] = ..., properties: _Optional[_Mapping[str, Schema]] = ..., required: _Optional[_Iterable[str]] = ..., min_properties: _Optional[int] = ..., max_properties: _Optional[int] = ..., minimum: _Optional[float] = ..., maximum: _Optional[float] = ..., min_length: _Optional[int] = ..., max_length: _Optional[int] = ..., pattern: _Optional[str] = ..., example: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., any_of: _Optional[_Iterable[_Union[Schema, _Mapping]]] = ..., property_ordering: _Optional[_Iterable[str]] = ..., default: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class ToolConfig(_message.Message):
    __slots__ = ("function_calling_config", "retrieval_config")
    FUNCTION_CALLING_CONFIG_FIELD_NUMBER: _ClassVar[int]
    RETRIEVAL_CONFIG_FIELD_NUMBER: _ClassVar[int]
    function_calling_config: FunctionCallingConfig
    retrieval_config: RetrievalConfig
    def __init__(self, function_calling_config: _Optional[_Union[FunctionCallingConfig, _Mapping]] = ..., retrieval_config: _Optional[_Union[RetrievalConfig, _Mapping]] = ...) -> None: ...

class FunctionCallingConfig(_message.Message):
    __slots__ = ("mode", "allowed_function_names")
    class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        MODE_UNSPECIFIED: _ClassVar[FunctionCallingConfig.Mode]
        AUTO: _ClassVar[FunctionCallingConfig.Mode]
        ANY: _ClassVar[FunctionCallingConfig.Mode]
        NONE: _ClassVar[FunctionCallingConfig.Mode]
        VALIDATED: _ClassVar[FunctionCallingConfig.Mode]
    MODE_UNSPECIFIED: FunctionCallingConfig.Mode
    AUTO: FunctionCallingConfig.Mode
    ANY: FunctionCallingConfig.Mode
    NONE: FunctionCallingConfig.Mode
    VALIDATED: FunctionCallingConfig.Mode
    MODE_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_FUNCTION_NAMES_FIELD_NUMBER: _ClassVar[int]
    mode: FunctionCallingConfig.Mode
    allowed_function_names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, mode: _Optional[_Union[FunctionCallingConfig.Mode, str]] = ..., allowed_function_names: _Optional[_Iterable[str]] = ...) -> None: ...

class RetrievalConfig(_message.Message):
    __slots__ = ("lat_lng", "language_code")
    LAT_LNG_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_CODE_FIELD_NUMBER: _ClassVar[int]
    lat_lng: LatLng
    language_code: str
    def __init__(self, lat_lng: _Optional[_Union[LatLng, _Mapping]] = ..., language_code: _Optional[str] = ...) -> None: ...

class GenerationConfig(_message.Message):
    __slots__ = ("candidate_count", "stop_sequences", "max_output_tokens", "temperature", "top_p", "top_k", "seed", "response_mime_type", "response_schema", "response_json_schema", "response_json_schema_ordered", "presence_penalty", "frequency_penalty", "response_logprobs", "logprobs", "enable_enhanced_civic_answers", "response_modalities", "speech_config", "thinking_config", "image_config", "media_resolution")
    class Modality(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        MODALITY_UNSPECIFIED: _ClassVar[GenerationConfig.Modality]
        TEXT: _ClassVar[GenerationConfig.Modality]
        IMAGE: _ClassVar[GenerationConfig.Modality]
        AUDIO: _ClassVar[GenerationConfig.Modality]
    MODALITY_UNSPECIFIED: GenerationConfig.Modality
    TEXT: GenerationConfig.Modality
    IMAGE: GenerationConfig.Modality
    AUDIO: GenerationConfig.Modality
    class MediaResolution(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        MEDIA_RESOLUTION_UNSPECIFIED: _ClassVar[GenerationConfig.MediaResolution]
        MEDIA_RESOLUTION_LOW: _ClassVar[GenerationConfig.MediaResolution]
        MEDIA_RESOLUTION_MEDIUM: _ClassVar[GenerationConfig.MediaResolution]
        MEDIA_RESOLUTION_HIGH: _ClassVar[GenerationConfig.MediaResolution]
    MEDIA_RESOLUTION_UNSPECIFIED: GenerationConfig.MediaResolution
    MEDIA_RESOLUTION_LOW: GenerationConfig.MediaResolution
    MEDIA_RESOLUTION_MEDIUM: GenerationConfig.MediaResolution
    MEDIA_RESOLUTION_HIGH: GenerationConfig.MediaResolution
    CANDIDATE_COUNT_FIELD_NUMBER: _ClassVar[int]
    STOP_SEQUENCES_FIELD_NUMBER: _ClassVar[int]
    MAX_OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    TOP_P_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_JSON_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_JSON_SCHEMA_ORDERED_FIELD_NUMBER: _ClassVar[int]
    PRESENCE_PENALTY_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_PENALTY_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    ENABLE_ENHANCED_CIVIC_ANSWERS_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_MODALITIES_FIELD_NUMBER: _ClassVar[int]
    SPEECH_CONFIG_FIELD_NUMBER: _ClassVar[int]
    THINKING_CONFIG_FIELD_NUMBER: _ClassVar[int]
    IMAGE_CONFIG_FIELD_NUMBER: _ClassVar[int]
    MEDIA_RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    candidate_count: int
    stop_sequences: _containers.RepeatedScalarFieldContainer[str]
    max_output_tokens: int
    temperature: float
    top_p: float
    top_k: int
    seed: int
    response_mime_type: str
    response_schema: Schema
    response_json_schema: _struct_pb2.Value
    response_json_schema_ordered: _struct_pb2.Value
    presence_penalty: float
    frequency_penalty: float
    response_logprobs: bool
    logprobs: int
    enable_enhanced_civic_answers: bool
    response_modalities: _containers.RepeatedScalarFieldContainer[GenerationConfig.Modality]
    speech_config: SpeechConfig
    thinking_config: ThinkingConfig
    image_config: ImageConfig
    media_resolution: GenerationConfig.MediaResolution
    def __init__(self, candidate_count: _Optional[int] = ..., stop_sequences: _Optional[_Iterable[str]] = ..., max_output_tokens: _Optional[int] = ..., temperature: _Optional[float] = ..., top_p: _Optional[float] = ..., top_k: _Optional[int] = ..., seed: _Optional[int] = ..., response_mime_type: _Optional[str] = ..., response_schema: _Optional[_Union[Schema, _Mapping]] = ..., response_json_schema: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., response_json_schema_ordered: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., presence_penalty: _Optional[float] = ..., frequency_penalty: _Optional[float] = ..., response_logprobs: _Optional[bool] = ..., logprobs: _Optional[int] = ..., enable_enhanced_civic_answers: _Optional[bool] = ..., response_modalities: _Optional[_Iterable[_Union[GenerationConfig.Modality, str]]] = ..., speech_config: _Optional[_Union[SpeechConfig, _Mapping]] = ..., thinking_config: _Optional[_Union[ThinkingConfig, _Mapping]] = ..., image_config: _Optional[_Union[ImageConfig, _Mapping]] = ..., media_resolution: _Optional[_Union[GenerationConfig.MediaResolution, str]] = ...) -> None: ...

class ThinkingConfig(_message.Message):
    __slots__ = ("include_thoughts", "thinking_budget")
    INCLUDE_THOUGHTS_FIELD_NUMBER: _ClassVar[int]
    THINKING_BUDGET_FIELD_NUMBER: _ClassVar[int]
    include_thoughts: bool
    thinking_budget: int
    def __init__(self, include_thoughts: _Optional[bool] = ..., thinking_budget: _Optional[int] = ...) -> None: ...

class ImageConfig(_message.Message):
    __slots__ = ("aspect_ratio",)
    ASPECT_RATIO_FIELD_NUMBER: _ClassVar[int]
    aspect_ratio: str
    def __init__(self, aspect_ratio: _Optional[str] = ...) -> None: ...

class SpeechConfig(_message.Message):
    __slots__ = ("voice_config", "multi_speaker_voice_config", "language_code")
    VOICE_CONFIG_FIELD_NUMBER: _ClassVar[int]
    MULTI_SPEAKER_VOICE_CONFIG_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_CODE_FIELD_NUMBER: _ClassVar[int]
    voice_config: VoiceConfig
    multi_speaker_voice_config: MultiSpeakerVoiceConfig
    language_code: str
    def __init__(self, voice_config: _Optional[_Union[VoiceConfig, _Mapping]] = ..., multi_speaker_voice_config: _Optional[_Union[MultiSpeakerVoiceConfig, _Mapping]] = ..., language_code: _Optional[str] = ...) -> None: ...

class VoiceConfig(_message.Message):
    __slots__ = ("prebuilt_voice_config",)
    PREBUILT_VOICE_CONFIG_FIELD_NUMBER: _ClassVar[int]
    prebuilt_voice_config: PrebuiltVoiceConfig
    def __init__(self, prebuilt_voice_config: _Optional[_Union[PrebuiltVoiceConfig, _Mapping]] = ...) -> None: ...

class PrebuiltVoiceConfig(_message.Message):
    __slots__ = ("voice_name",)
    VOICE_NAME_FIELD_NUMBER: _ClassVar[int]
    voice_name: str
    def __init__(self, voice_name: _Optional[str] = ...) -> None: ...

class MultiSpeakerVoiceConfig(_message.Message):
    __slots__ = ("speaker_voice_configs",)
    SPEAKER_VOICE_CONFIGS_FIELD_NUMBER: _ClassVar[int]
    speaker_voice_configs: _containers.RepeatedCompositeFieldContainer[SpeakerVoiceConfig]
    def __init__(self, speaker_voice_configs: _Optional[_Iterable[_Union[SpeakerVoiceConfig, _Mapping]]] = ...) -> None: ...

class SpeakerVoiceConfig(_message.Message):
    __slots__ = ("speaker", "voice_config")
    SPEAKER_FIELD_NUMBER: _ClassVar[int]
    VOICE_CONFIG_FIELD_NUMBER: _ClassVar[int]
    speaker: str
    voice_config: VoiceConfig
    def __init__(self, speaker: _Optional[str] = ..., voice_config: _Optional[_Union[VoiceConfig, _Mapping]] = ...) -> None: ...

class SafetySetting(_message.Message):
    __slots__ = ("category", "threshold")
    class HarmBlockThreshold(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        HARM_BLOCK_THRESHOLD_UNSPECIFIED: _ClassVar[SafetySetting.HarmBlockThreshold]
        BLOCK_LOW_AND_ABOVE: _ClassVar[SafetySetting.HarmBlockThreshold]
        BLOCK_MEDIUM_AND_ABOVE: _ClassVar[SafetySetting.HarmBlockThreshold]
        BLOCK_ONLY_HIGH: _ClassVar[SafetySetting.HarmBlockThreshold]
        BLOCK_NONE: _ClassVar[SafetySetting.HarmBlockThreshold]
        OFF: _ClassVar[SafetySetting.HarmBlockThreshold]
    HARM_BLOCK_THRESHOLD_UNSPECIFIED: SafetySetting.HarmBlockThreshold
    BLOCK_LOW_AND_ABOVE: SafetySetting.HarmBlockThreshold
    BLOCK_MEDIUM_AND_ABOVE: SafetySetting.HarmBlockThreshold
    BLOCK_ONLY_HIGH: SafetySetting.HarmBlockThreshold
    BLOCK_NONE: SafetySetting.HarmBlockThreshold
    OFF: SafetySetting.HarmBlockThreshold
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    category: HarmCategory
    threshold: SafetySetting.HarmBlockThreshold
    def __init__(self, category: _Optional[_Union[HarmCategory, str]] = ..., threshold: _Optional[_Union[SafetySetting.HarmBlockThreshold, str]] = ...) -> None: ...

class SafetyRating(_message.Message):
    __slots__ = ("category", "probability", "blocked")
    class HarmProbability(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        HARM_PROBABILITY_UNSPECIFIED: _ClassVar[SafetyRating.HarmProbability]
        NEGLIGIBLE: _ClassVar[SafetyRating.HarmProbability]
        LOW: _ClassVar[SafetyRating.HarmProbability]
        MEDIUM: _ClassVar[SafetyRating.HarmProbability]
        HIGH: _ClassVar[SafetyRating.HarmProbability]
    HARM_PROBABILITY_UNSPECIFIED: SafetyRating.HarmProbability
    NEGLIGIBLE: SafetyRating.HarmProbability
    LOW: SafetyRating.HarmProbability
    MEDIUM: SafetyRating.HarmProbability
    HIGH: SafetyRating.HarmProbability
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_FIELD_NUMBER: _ClassVar[int]
    category: HarmCategory
    probability: SafetyRating.HarmProbability
    blocked: bool
    def __init__(self, category: _Optional[_Union[HarmCategory, str]] = ..., probability: _Optional[_Union[SafetyRating.HarmProbability, str]] = ..., blocked: _Optional[bool] = ...) -> None: ...

class ModalityTokenCount(_message.Message):
    __slots__ = ("modality", "token_count")
    MODALITY_FIELD_NUMBER: _ClassVar[int]
    TOKEN_COUNT_FIELD_NUMBER: _ClassVar[int]
    modality: Modality
    token_count: int
    def __init__(self, modality: _Optional[_Union[Modality, str]] = ..., token_count: _Optional[int] = ...) -> None: ...

class GenerateContentResponse(_message.Message):
    __slots__ = ("candidates", "prompt_feedback", "usage_metadata", "model_version", "response_id")
    class PromptFeedback(_message.Message):
        __slots__ = ("block_reason", "safety_ratings")
        class BlockReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
            __slots__ = ()
            BLOCK_REASON_UNSPECIFIED: _ClassVar[GenerateContentResponse.PromptFeedback.BlockReason]
            SAFETY: _ClassVar[GenerateContentResponse.PromptFeedback.BlockReason]
            OTHER: _ClassVar[GenerateContentResponse.PromptFeedback.BlockReason]
            BLOCKLIST: _ClassVar[GenerateContentResponse.PromptFeedback.BlockReason]
            PROHIBITED_CONTENT: _ClassVar[GenerateContentResponse.PromptFeedback.BlockReason]
            IMAGE_SAFETY: _ClassVar[GenerateContentResponse.PromptFeedback.BlockReason]
        BLOCK_REASON_UNSPECIFIED: GenerateContentResponse.PromptFeedback.BlockReason
        SAFETY: GenerateContentResponse.PromptFeedback.BlockReason
        OTHER: GenerateContentResponse.PromptFeedback.BlockReason
        BLOCKLIST: GenerateContentResponse.PromptFeedback.BlockReason
        PROHIBITED_CONTENT: GenerateContentResponse.PromptFeedback.BlockReason
        IMAGE_SAFETY: GenerateContentResponse.PromptFeedback.BlockReason
        BLOCK_REASON_FIELD_NUMBER: _ClassVar[int]
        SAFETY_RATINGS_FIELD_NUMBER: _ClassVar[int]
        block_reason: GenerateContentResponse.PromptFeedback.BlockReason
        safety_ratings: _containers.RepeatedCompositeFieldContainer[SafetyRating]
        def __init__(self, block_reason: _Optional[_Union[GenerateContentResponse.PromptFeedback.BlockReason, str]] = ..., safety_ratings: _Optional[_Iterable[_Union[SafetyRating, _Mapping]]] = ...) -> None: ...
    class UsageMetadata(_message.Message):
        __slots__ = ("prompt_token_count", "cached_content_token_count", "candidates_token_count", "tool_use_prompt_token_count", "thoughts_token_count", "total_token_count", "prompt_tokens_details", "cache_tokens_details", "candidates_tokens_details", "tool_use_prompt_tokens_details")
        PROMPT_TOKEN_COUNT_FIELD_NUMBER: _ClassVar[int]
        CACHED_CONTENT_TOKEN_COUNT_FIELD_NUMBER: _ClassVar[int]
        CANDIDATES_TOKEN_COUNT_FIELD_NUMBER: _ClassVar[int]
        TOOL_USE_PROMPT_TOKEN_COUNT_FIELD_NUMBER: _ClassVar[int]
        THOUGHTS_TOKEN_COUNT_FIELD_NUMBER: _ClassVar[int]
        TOTAL_TOKEN_COUNT_FIELD_NUMBER: _ClassVar[int]
        PROMPT_TOKENS_DETAILS_FIELD_NUMBER: _ClassVar[int]
        CACHE_TOKENS_DETAILS_FIELD_NUMBER: _ClassVar[int]
        CANDIDATES_TOKENS_DETAILS_FIELD_NUMBER: _ClassVar[int]
        TOOL_USE_PROMPT_TOKENS_DETAILS_FIELD_NUMBER: _ClassVar[int]
        prompt_token_count: int
        cached_content_token_count: int
        candidates_token_count: int
        tool_use_prompt_token_count: int
        thoughts_token_count: int
        total_token_count: int
        prompt_tokens_details: _containers.RepeatedCompositeFieldContainer[ModalityTokenCount]
        cache_tokens_details: _containers.RepeatedCompositeFieldContainer[ModalityTokenCount]
        candidates_tokens_details: _containers.RepeatedCompositeFieldContainer[ModalityTokenCount]
        tool_use_prompt_tokens_details: _containers.RepeatedCompositeFieldContainer[ModalityTokenCount]
        def __init__(self, prompt_token_count: _Optional[int] = ..., cached_content_token_count: _Optional[int] = ..., candidates_token_count: _Optional[int] = ..., tool_use_prompt_token_count: _Optional[int] = ..., thoughts_token_count: _Optional[int] = ..., total_token_count: _Optional[int] = ..., prompt_tokens_details: _Optional[_Iterable[_Union[ModalityTokenCount, _Mapping]]] = ..., cache_tokens_details: _Optional[_Iterable[_Union[ModalityTokenCount, _Mapping]]] = ..., candidates_tokens_details: _Optional[_Iterable[_Union[ModalityTokenCount, _Mapping]]] = ..., tool_use_prompt_tokens_details: _Optional[_Iterable[_Union[ModalityTokenCount, _Mapping]]] = ...) -> None: ...
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    PROMPT_FEEDBACK_FIELD_NUMBER: _ClassVar[int]
    USAGE_METADATA_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_ID_FIELD_NUMBER: _ClassVar[int]
    candidates: _containers.RepeatedCompositeFieldContainer[Candidate]
    prompt_feedback: GenerateContentResponse.PromptFeedback
    usage_metadata: GenerateContentResponse.UsageMetadata
    model_version: str
    response_id: str
    def __init__(self, candidates: _Optional[_Iterable[_Union[Candidate, _Mapping]]] = ..., prompt_feedback: _Optional[_Union[GenerateContentResponse.PromptFeedback, _Mapping]] = ..., usage_metadata: _Optional[_Union[GenerateContentResponse.UsageMetadata, _Mapping]] = ..., model_version: _Optional[str] = ..., response_id: _Optional[str] = ...) -> None: ...

class Candidate(_message.Message):
    __slots__ = ("index", "content", "finish_reason", "finish_message", "safety_ratings", "citation_metadata", "token_count", "grounding_attributions", "grounding_metadata", "avg_logprobs", "logprobs_result", "url_context_metadata")
    class FinishReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        FINISH_REASON_UNSPECIFIED: _ClassVar[Candidate.FinishReason]
        STOP: _ClassVar[Candidate.FinishReason]
        MAX_TOKENS: _ClassVar[Candidate.FinishReason]
        SAFETY: _ClassVar[Candidate.FinishReason]
        RECITATION: _ClassVar[Candidate.FinishReason]
        OTHER: _ClassVar[Candidate.FinishReason]
        LANGUAGE: _ClassVar[Candidate.FinishReason]
        BLOCKLIST: _ClassVar[Candidate.FinishReason]
        PROHIBITED_CONTENT: _ClassVar[Candidate.FinishReason]
        SPII: _ClassVar[Candidate.FinishReason]
        MALFORMED_FUNCTION_CALL: _ClassVar[Candidate.FinishReason]
        IMAGE_SAFETY: _ClassVar[Candidate.FinishReason]
        UNEXPECTED_TOOL_CALL: _ClassVar[Candidate.FinishReason]
        TOO_MANY_TOOL_CALLS: _ClassVar[Candidate.FinishReason]
        IMAGE_PROHIBITED_CONTENT: _ClassVar[Candidate.FinishReason]
        IMAGE_OTHER: _ClassVar[Candidate.FinishReason]
        NO_IMAGE: _ClassVar[Candidate.FinishReason]
        IMAGE_RECITATION: _ClassVar[Candidate.FinishReason]
    FINISH_REASON_UNSPECIFIED: Candidate.FinishReason
    STOP: Candidate.FinishReason
    MAX_TOKENS: Candidate.FinishReason
    SAFETY: Candidate.FinishReason
    RECITATION: Candidate.FinishReason
    OTHER: Candidate.FinishReason
    LANGUAGE: Candidate.FinishReason
    BLOCKLIST: Candidate.FinishReason
    PROHIBITED_CONTENT: Candidate.FinishReason
    SPII: Candidate.FinishReason
    MALFORMED_FUNCTION_CALL: Candidate.FinishReason
    IMAGE_SAFETY: Candidate.FinishReason
    UNEXPECTED_TOOL_CALL: Candidate.FinishReason
    TOO_MANY_TOOL_CALLS: Candidate.FinishReason
    IMAGE_PROHIBITED_CONTENT: Candidate.FinishReason
    IMAGE_OTHER: Candidate.FinishReason
    NO_IMAGE: Candidate.FinishReason
    IMAGE_RECITATION: Candidate.FinishReason
    INDEX_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    FINISH_REASON_FIELD_NUMBER: _ClassVar[int]
    FINISH_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SAFETY_RATINGS_FIELD_NUMBER: _ClassVar[int]
    CITATION_METADATA_FIELD_NUMBER: _ClassVar[int]
    TOKEN_COUNT_FIELD_NUMBER: _ClassVar[int]
    GROUNDING_ATTRIBUTIONS_FIELD_NUMBER: _ClassVar[int]
    GROUNDING_METADATA_FIELD_NUMBER: _ClassVar[int]
    AVG_LOGPROBS_FIELD_NUMBER: _ClassVar[int]
    LOGPROBS_RESULT_FIELD_NUMBER: _ClassVar[int]
    URL_CONTEXT_METADATA_FIELD_NUMBER: _ClassVar[int]
    index: int
    content: Content
    finish_reason: Candidate.FinishReason
    finish_message: str
    safety_ratings: _containers.RepeatedCompositeFieldContainer[SafetyRating]
    citation_metadata: CitationMetadata
    token_count: int
    grounding_attributions: _containers.RepeatedCompositeFieldContainer[GroundingAttribution]
    grounding_metadata: GroundingMetadata
    avg_logprobs: float
    logprobs_result: LogprobsResult
    url_context_metadata: UrlContextMetadata
    def __init__(self, index: _Optional[int] = ..., content: _Optional[_Union[Content, _Mapping]] = ..., finish_reason: _Optional[_Union[Candidate.FinishReason, str]] = ..., finish_message: _Optional[str] = ..., safety_ratings: _Optional[_Iterable[_Union[SafetyRating, _Mapping]]] = ..., citation_metadata: _Optional[_Union[CitationMetadata, _Mapping]] = ..., token_count: _Optional[int] = ..., grounding_attributions: _Optional[_Iterable[_Union[GroundingAttribution, _Mapping]]] = ..., grounding_metadata: _Optional[_Union[GroundingMetadata, _Mapping]] = ..., avg_logprobs: _Optional[float] = ..., logprobs_result: _Optional[_Union[LogprobsResult, _Mapping]] = ..., url_context_metadata: _Optional[_Union[UrlContextMetadata, _Mapping]] = ...) -> None: ...

class CitationMetadata(_message.Message):
    __slots__ = ("citation_sources",)
    CITATION_SOURCES_FIELD_NUMBER: _ClassVar[int]
    citation_sources: _containers.RepeatedCompositeFieldContainer[CitationSource]
    def __init__(self, citation_sources: _Optional[_Iterable[_Union[CitationSource, _Mapping]]] = ...) -> None: ...

class CitationSource(_message.Message):
    __slots__ = ("start_index", "end_index", "uri", "license")
    START_INDEX_FIELD_NUMBER: _ClassVar[int]
    END_INDEX_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    LICENSE_FIELD_NUMBER: _ClassVar[int]
    start_index: int
    end_index: int
    uri: str
    license: str
    def __init__(self, start_index: _Optional[int] = ..., end_index: _Optional[int] = ..., uri: _Optional[str] = ..., license: _Optional[str] = ...) -> None: ...

class AttributionSourceId(_message.Message):
    __slots__ = ("grounding_passage", "semantic_retriever_chunk")
    class GroundingPassageId(_message.Message):
        __slots__ = ("passage_id", "part_index")
        PASSAGE_ID_FIELD_NUMBER: _ClassVar[int]
        PART_INDEX_FIELD_NUMBER: _ClassVar[int]
        passage_id: str
        part_index: int
        def __init__(self, passage_id: _Optional[str] = ..., part_index: _Optional[int] = ...) -> None: ...
    class SemanticRetrieverChunk(_message.Message):
        __slots__ = ("source", "chunk")
        SOURCE_FIELD_NUMBER: _ClassVar[int]
        CHUNK_FIELD_NUMBER: _ClassVar[int]
        source: str
        chunk: str
        def __init__(self, source: _Optional[str] = ..., chunk: _Optional[str] = ...) -> None: ...
    GROUNDING_PASSAGE_FIELD_NUMBER: _ClassVar[int]
    SEMANTIC_RETRIEVER_CHUNK_FIELD_NUMBER: _ClassVar[int]
    grounding_passage: AttributionSourceId.GroundingPassageId
    semantic_retriever_chunk: AttributionSourceId.SemanticRetrieverChunk
    def __init__(self, grounding_passage: _Optional[_Union[AttributionSourceId.GroundingPassageId, _Mapping]] = ..., semantic_retriever_chunk: _Optional[_Union[AttributionSourceId.SemanticRetrieverChunk, _Mapping]] = ...) -> None: ...

class GroundingAttribution(_message.Message):
    __slots__ = ("source_id", "content")
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    source_id: AttributionSourceId
    content: Content
    def __init__(self, source_id: _Optional[_Union[AttributionSourceId, _Mapping]] = ..., content: _Optional[_Union[Content, _Mapping]] = ...) -> None: ...

class GroundingMetadata(_message.Message):
    __slots__ = ("search_entry_point", "grounding_chunks", "grounding_supports", "retrieval_metadata", "web_search_queries", "google_maps_widget_context_token")
    SEARCH_ENTRY_POINT_FIELD_NUMBER: _ClassVar[int]
    GROUNDING_CHUNKS_FIELD_NUMBER: _ClassVar[int]
    GROUNDING_SUPPORTS_FIELD_NUMBER: _ClassVar[int]
    RETRIEVAL_METADATA_FIELD_NUMBER: _ClassVar[int]
    WEB_SEARCH_QUERIES_FIELD_NUMBER: _ClassVar[int]
    GOOGLE_MAPS_WIDGET_CONTEXT_TOKEN_FIELD_NUMBER: _ClassVar[int]
    search_entry_point: SearchEntryPoint
    grounding_chunks: _containers.RepeatedCompositeFieldContainer[GroundingChunk]
    grounding_supports: _containers.RepeatedCompositeFieldContainer[GroundingSupport]
    retrieval_metadata: RetrievalMetadata
    web_search_queries: _containers.RepeatedScalarFieldContainer[str]
    google_maps_widget_context_token: str
    def __init__(self, search_entry_point: _Optional[_Union[SearchEntryPoint, _Mapping]] = ..., grounding_chunks: _Optional[_Iterable[_Union[GroundingChunk, _Mapping]]] = ..., grounding_supports: _Optional[_Iterable[_Union[GroundingSupport, _Mapping]]] = ..., retrieval_metadata: _Optional[_Union[RetrievalMetadata, _Mapping]] = ..., web_search_queries: _Optional[_Iterable[str]] = ..., google_maps_widget_context_token: _Optional[str] = ...) -> None: ...

class SearchEntryPoint(_message.Message):
    __slots__ = ("rendered_content", "sdk_blob")
    RENDERED_CONTENT_FIELD_NUMBER: _ClassVar[int]
    SDK_BLOB_FIELD_NUMBER: _ClassVar[int]
    rendered_content: str
    sdk_blob: bytes
    def __init__(self, rendered_content: _Optional[str] = ..., sdk_blob: _Optional[bytes] = ...) -> None: ...

class GroundingChunk(_message.Message):
    __slots__ = ("web", "retrieved_context", "maps")
    class Web(_message.Message):
        __slots__ = ("uri", "title")
        URI_FIELD_NUMBER: _ClassVar[int]
        TITLE_FIELD_NUMBER: _ClassVar[int]
        uri: str
        title: str
        def __init__(self, uri: _Optional[str] = ..., title: _Optional[str] = ...) -> None: ...
    class RetrievedContext(_message.Message):
        __slots__ = ("uri", "title", "text")
        URI_FIELD_NUMBER: _ClassVar[int]
        TITLE_FIELD_NUMBER: _ClassVar[int]
        TEXT_FIELD_NUMBER: _ClassVar[int]
        uri: str
        title: str
        text: str
        def __init__(self, uri: _Optional[str] = ..., title: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...
    class Maps(_message.Message):
        __slots__ = ("uri", "title", "text", "place_id", "place_answer_sources")
        class PlaceAnswerSources(_message.Message):
            __slots__ = ("review_snippets",)
            class ReviewSnippet(_message.Message):
                __slots__ = ("review_id", "google_maps_uri", "title")
                REVIEW_ID_FIELD_NUMBER: _ClassVar[int]
                GOOGLE_MAPS_URI_FIELD_NUMBER: _ClassVar[int]
                TITLE_FIELD_NUMBER: _ClassVar[int]
                review_id: str
                google_maps_uri: str
                title: str
                def __init__(self, review_id: _Optional[str] = ..., google_maps_uri: _Optional[str] = ..., title: _Optional[str] = ...) -> None: ...
            REVIEW_SNIPPETS_FIELD_NUMBER: _ClassVar[int]
            review_snippets: _containers.RepeatedCompositeFieldContainer[GroundingChunk.Maps.PlaceAnswerSources.ReviewSnippet]
            def __init__(self, review_snippets: _Optional[_Iterable[_Union[GroundingChunk.Maps.PlaceAnswerSources.ReviewSnippet, _Mapping]]] = ...) -> None: ...
        URI_FIELD_NUMBER: _ClassVar[int]
        TITLE_FIELD_NUMBER: _ClassVar[int]
        TEXT_FIELD_NUMBER: _ClassVar[int]
        PLACE_ID_FIELD_NUMBER: _ClassVar[int]
        PLACE_ANSWER_SOURCES_FIELD_NUMBER: _ClassVar[int]
        uri: str
        title: str
        text: str
        place_id: str
        place_answer_sources: GroundingChunk.Maps.PlaceAnswerSources
        def __init__(self, uri: _Optional[str] = ..., title: _Optional[str] = ..., text: _Optional[str] = ..., place_id: _Optional[str] = ..., place_answer_sources: _Optional[_Union[GroundingChunk.Maps.PlaceAnswerSources, _Mapping]] = ...) -> None: ...
    WEB_FIELD_NUMBER: _ClassVar[int]
    RETRIEVED_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    MAPS_FIELD_NUMBER: _ClassVar[int]
    web: GroundingChunk.Web
    retrieved_context: GroundingChunk.RetrievedContext
    maps: GroundingChunk.Maps
    def __init__(self, web: _Optional[_Union[GroundingChunk.Web, _Mapping]] = ..., retrieved_context: _Optional[_Union[GroundingChunk.RetrievedContext, _Mapping]] = ..., maps: _Optional[_Union[GroundingChunk.Maps, _Mapping]] = ...) -> None: ...

class GroundingSupport(_message.Message):
    __slots__ = ("segment", "grounding_chunk_indices", "confidence_scores")
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    GROUNDING_CHUNK_INDICES_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_SCORES_FIELD_NUMBER: _ClassVar[int]
    segment: Segment
    grounding_chunk_indices: _containers.RepeatedScalarFieldContainer[int]
    confidence_scores: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, segment: _Optional[_Union[Segment, _Mapping]] = ..., grounding_chunk_indices: _Optional[_Iterable[int]] = ..., confidence_scores: _Optional[_Iterable[float]] = ...) -> None: ...

class Segment(_message.Message):
    __slots__ = ("part_index", "start_index", "end_index", "text")
    PART_INDEX_FIELD_NUMBER: _ClassVar[int]
    START_INDEX_FIELD_NUMBER: _ClassVar[int]
    END_INDEX_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    part_index: int
    start_index: int
    end_index: int
    text: str
    def __init__(self, part_index: _Optional[int] = ..., start_index: _Optional[int] = ..., end_index: _Optional[int] = ..., text: _Optional[str] = ...) -> None: ...

class RetrievalMetadata(_message.Message):
    __slots__ = ("google_search_dynamic_retrieval_score",)
    GOOGLE_SEARCH_DYNAMIC_RETRIEVAL_SCORE_FIELD_NUMBER: _ClassVar[int]
    google_search_dynamic_retrieval_score: float
    def __init__(self, google_search_dynamic_retrieval_score: _Optional[float] = ...) -> None: ...

class LogprobsResult(_message.Message):
    __slots__ = ("log_probability_sum", "top_candidates", "chosen_candidates")
    class Candidate(_message.Message):
        __slots__ = ("token", "token_id", "log_probability")
        TOKEN_FIELD_NUMBER: _ClassVar[int]
        TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
        LOG_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
        token: str
        token_id: int
        log_probability: float
        def __init__(self, token: _Optional[str] = ..., token_id: _Optional[int] = ..., log_probability: _Optional[float] = ...) -> None: ...
    class TopCandidates(_message.Message):
        __slots__ = ("candidates",)
        CANDIDATES_FIELD_NUMBER: _ClassVar[int]
        candidates: _containers.RepeatedCompositeFieldContainer[LogprobsResult.Candidate]
        def __init__(self, candidates: _Optional[_Iterable[_Union[LogprobsResult.Candidate, _Mapping]]] = ...) -> None: ...
    LOG_PROBABILITY_SUM_FIELD_NUMBER: _ClassVar[int]
    TOP_CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    CHOSEN_CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    log_probability_sum: float
    top_candidates: _containers.RepeatedCompositeFieldContainer[LogprobsResult.TopCandidates]
    chosen_candidates: _containers.RepeatedCompositeFieldContainer[LogprobsResult.Candidate]
    def __init__(self, log_probability_sum: _Optional[float] = ..., top_candidates: _Optional[_Iterable[_Union[LogprobsResult.TopCandidates, _Mapping]]] = ..., chosen_candidates: _Optional[_Iterable[_Union[LogprobsResult.Candidate, _Mapping]]] = ...) -> None: ...

class UrlContextMetadata(_message.Message):
    __slots__ = ("url_metadata",)
    URL_METADATA_FIELD_NUMBER: _ClassVar[int]
    url_metadata: _containers.RepeatedCompositeFieldContainer[UrlMetadata]
    def __init__(self, url_metadata: _Optional[_Iterable[_Union[UrlMetadata, _Mapping]]] = ...) -> None: ...

class UrlMetadata(_message.Message):
    __slots__ = ("retrieved_url", "url_retrieval_status")
    class UrlRetrievalStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        URL_RETRIEVAL_STATUS_UNSPECIFIED: _ClassVar[UrlMetadata.UrlRetrievalStatus]
        URL_RETRIEVAL_STATUS_SUCCESS: _ClassVar[UrlMetadata.UrlRetrievalStatus]
        URL_RETRIEVAL_STATUS_ERROR: _ClassVar[UrlMetadata.UrlRetrievalStatus]
        URL_RETRIEVAL_STATUS_PAYWALL: _ClassVar[UrlMetadata.UrlRetrievalStatus]
        URL_RETRIEVAL_STATUS_UNSAFE: _ClassVar[UrlMetadata.UrlRetrievalStatus]
    URL_RETRIEVAL_STATUS_UNSPECIFIED: UrlMetadata.UrlRetrievalStatus
    URL_RETRIEVAL_STATUS_SUCCESS: UrlMetadata.UrlRetrievalStatus
    URL_RETRIEVAL_STATUS_ERROR: UrlMetadata.UrlRetrievalStatus
    URL_RETRIEVAL_STATUS_PAYWALL: UrlMetadata.UrlRetrievalStatus
    URL_RETRIEVAL_STATUS_UNSAFE: UrlMetadata.UrlRetrievalStatus
    RETRIEVED_URL_FIELD_NUMBER: _ClassVar[int]
    URL_RETRIEVAL_STATUS_FIELD_NUMBER: _ClassVar[int]
    retrieved_url: str
    url_retrieval_status: UrlMetadata.UrlRetrievalStatus
    def __init__(self, retrieved_url: _Optional[str] = ..., url_retrieval_status: _Optional[_Union[UrlMetadata.UrlRetrievalStatus, str]] = ...) -> None: ...

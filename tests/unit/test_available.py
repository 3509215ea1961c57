"""`fetchAvailableModels` parsing, the LS enum lookup, the QuotaBook and `GET /v1/quota`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from zerogravity_proxy.gemini.available import (
    LS_ENUMS,
    ModelQuota,
    QuotaBook,
    ls_enum,
    parse_available_models,
)
from zerogravity_proxy.sidecar.quota import QUOTA, quota

ANSWER: dict[str, Any] = {
    "models": {
        "gemini-3-flash": {
            "displayName": "Gemini 3 Flash",
            "model": "MODEL_PLACEHOLDER_M18",
            "quotaInfo": {"remainingFraction": 0.8, "resetTime": "2026-03-01T10:00:00Z"},
            "supportsImages": True,
            "maxTokens": 1048576,
        },
        "claude-opus-4-6-thinking": {
            "displayName": "Claude Opus 4.6 (Thinking)",
            "model": "MODEL_PLACEHOLDER_M26",
            "quotaInfo": {"resetTime": "2026-03-01T12:00:00Z"},
        },
        "gemini-3.1-pro-high": {
            "displayName": "Gemini 3.1 Pro (High)",
            "model": "MODEL_PLACEHOLDER_M40",
            "quotaInfo": {"remainingFraction": 1, "resetTime": "2026-03-02T00:00:00Z"},
        },
        "chat_20706": {},
    },
    "webSearchModelIds": ["gemini-3-flash"],
}

FLASH = ModelQuota(
    model="gemini-3-flash",
    display_name="Gemini 3 Flash",
    enum="MODEL_PLACEHOLDER_M18",
    remaining_fraction=0.8,
    reset_time="2026-03-01T10:00:00Z",
    exhausted=False,
)
OPUS = ModelQuota(
    model="claude-opus-4-6-thinking",
    display_name="Claude Opus 4.6 (Thinking)",
    enum="MODEL_PLACEHOLDER_M26",
    remaining_fraction=None,
    reset_time="2026-03-01T12:00:00Z",
    exhausted=True,
)
PRO_HIGH = ModelQuota(
    model="gemini-3.1-pro-high",
    display_name="Gemini 3.1 Pro (High)",
    enum="MODEL_PLACEHOLDER_M40",
    remaining_fraction=1.0,
    reset_time="2026-03-02T00:00:00Z",
    exhausted=False,
)
BARE = ModelQuota("chat_20706", None, None, None, None, False)
EXPECTED = {
    "gemini-3-flash": FLASH,
    "claude-opus-4-6-thinking": OPUS,
    "gemini-3.1-pro-high": PRO_HIGH,
    "chat_20706": BARE,
}


# --- parsing ---------------------------------------------------------------------------------


def test_parses_every_model_with_exact_values() -> None:
    assert parse_available_models(orjson.dumps(ANSWER)) == EXPECTED


def test_missing_fraction_with_reset_time_is_exhausted() -> None:
    parsed = parse_available_models(orjson.dumps(ANSWER))
    assert parsed["claude-opus-4-6-thinking"].exhausted is True
    assert parsed["claude-opus-4-6-thinking"].remaining_fraction is None
    # No quotaInfo at all says nothing about quota: not exhausted.
    assert parsed["chat_20706"].exhausted is False


def test_zero_fraction_is_exhausted() -> None:
    body = {"models": {"m": {"quotaInfo": {"remainingFraction": 0, "resetTime": "T"}}}}
    assert parse_available_models(body)["m"] == ModelQuota("m", None, None, 0.0, "T", True)


@pytest.mark.parametrize(
    "body",
    [
        orjson.dumps(ANSWER),
        orjson.dumps(ANSWER).decode(),
        ANSWER,
        orjson.dumps({"response": ANSWER, "traceId": "55650653afd3c738"}),
        orjson.dumps([{"response": ANSWER}]),
    ],
    ids=["bytes", "str", "mapping", "response-wrapped", "array-wrapped"],
)
def test_accepts_bare_and_wrapped_answers(body: Any) -> None:
    assert parse_available_models(body) == EXPECTED


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"null",
        b"42",
        b"[]",
        b"[{}, {}]",
        b'"models"',
        b"{}",
        b'{"models": null}',
        b'{"models": []}',
        b'{"models": "gemini-3-flash"}',
        b'{"response": "x"}',
        b'{"response": {"models": [1, 2]}}',
        b'{"models": {"": {"model": "M"}, "a": 1, "b": [], "c": null}}',
        b"[" * 5000 + b"]" * 5000,
        b'{"models": {"m": {"quotaInfo": {"remainingFraction": 1e999999}}}}',
    ],
)
def test_odd_input_yields_nothing(body: bytes) -> None:
    assert parse_available_models(body) == {}


def test_odd_fields_read_as_absent() -> None:
    body = {
        "models": {
            "m": {
                "displayName": 7,
                "model": "",
                "quotaInfo": {"remainingFraction": "NaN", "resetTime": 12},
            },
            "n": {"displayName": "", "model": ["M"], "quotaInfo": {"remainingFraction": True}},
            "o": {"quotaInfo": "full"},
            "p": {"quotaInfo": {"remainingFraction": float("inf")}},
            "q": {"quotaInfo": {"remainingFraction": 10**400}},
        }
    }
    assert parse_available_models(body) == {
        "m": ModelQuota("m", None, None, None, None, False),
        "n": ModelQuota("n", None, None, None, None, False),
        "o": ModelQuota("o", None, None, None, None, False),
        "p": ModelQuota("p", None, None, None, None, False),
        "q": ModelQuota("q", None, None, None, None, False),
    }


@pytest.mark.parametrize(
    ("raw", "fraction", "exhausted"),
    [
        ("0.25", 0.25, False),
        (1.5, 1.0, False),
        (-0.1, 0.0, True),
        (0.0001, 0.0001, False),
    ],
)
def test_fraction_strings_and_clamping(raw: Any, fraction: float, exhausted: bool) -> None:
    body = {"models": {"m": {"quotaInfo": {"remainingFraction": raw}}}}
    parsed = parse_available_models(body)["m"]
    assert (parsed.remaining_fraction, parsed.exhausted) == (fraction, exhausted)


def test_a_bad_entry_does_not_hide_good_ones() -> None:
    body = {"models": {"bad": "x", **ANSWER["models"]}}
    assert parse_available_models(body) == EXPECTED


# --- LS enums --------------------------------------------------------------------------------


def test_default_enum_table() -> None:
    assert LS_ENUMS == {
        "gemini-3-flash": "MODEL_PLACEHOLDER_M18",
        "claude-opus-4-6-thinking": "MODEL_PLACEHOLDER_M26",
        "claude-sonnet-4-6": "MODEL_PLACEHOLDER_M35",
        "gemini-3.1-pro-low": "MODEL_PLACEHOLDER_M36",
        "gemini-3.1-pro-high": "MODEL_PLACEHOLDER_M37",
        "gemini-3.1-flash-lite": "MODEL_PLACEHOLDER_M50",
    }


def test_learned_enum_wins_over_the_table() -> None:
    learned = parse_available_models(ANSWER)
    assert ls_enum("gemini-3.1-pro-high", {}) == "MODEL_PLACEHOLDER_M37"
    assert ls_enum("gemini-3.1-pro-high", learned) == "MODEL_PLACEHOLDER_M40"
    assert ls_enum("models/gemini-3.1-pro-high", learned) == "MODEL_PLACEHOLDER_M40"


def test_table_fills_in_when_nothing_was_learned_for_the_model() -> None:
    learned = parse_available_models(ANSWER)
    assert ls_enum("claude-sonnet-4-6", learned) == "MODEL_PLACEHOLDER_M35"
    # Learned, but without an enum: the table still answers.
    no_enum = {"gemini-3-flash": ModelQuota("gemini-3-flash", None, None, 0.5, None, False)}
    assert ls_enum("gemini-3-flash", no_enum) == "MODEL_PLACEHOLDER_M18"


def test_learned_enum_for_a_model_the_table_lacks() -> None:
    learned = parse_available_models({"models": {"gemini-3.7-flash-high": {"model": "M_X"}}})
    assert ls_enum("gemini-3.7-flash-high", learned) == "M_X"
    assert ls_enum("gemini-9-unknown", learned) is None


# --- QuotaBook -------------------------------------------------------------------------------


def test_empty_book() -> None:
    snapshot = QuotaBook().snapshot()
    assert (snapshot.models, snapshot.observed, snapshot.observed_at) == ({}, {}, None)


def test_update_merges_and_stamps_each_model() -> None:
    book = QuotaBook()
    book.update(EXPECTED, 1000.5)
    newer_flash = ModelQuota("gemini-3-flash", "Gemini 3 Flash", "M18", 0.2, "T", False)
    book.update({"gemini-3-flash": newer_flash}, 2000.0)
    snapshot = book.snapshot()
    assert list(snapshot.models) == sorted(EXPECTED)
    assert snapshot.models == {**EXPECTED, "gemini-3-flash": newer_flash}
    assert snapshot.observed == {**dict.fromkeys(EXPECTED, 1000.5), "gemini-3-flash": 2000.0}
    assert snapshot.observed_at == 2000.0
    assert len(book) == 4


def test_an_empty_update_changes_nothing() -> None:
    book = QuotaBook()
    book.update({}, 5.0)
    assert book.snapshot().observed_at is None
    book.update({"gemini-3-flash": FLASH}, 10.0)
    book.update(parse_available_models(b"garbage"), 20.0)
    assert book.snapshot().observed_at == 10.0


def test_snapshot_is_a_copy() -> None:
    book = QuotaBook()
    book.update({"gemini-3-flash": FLASH}, 1.0)
    snapshot = book.snapshot()
    book.update({"claude-opus-4-6-thinking": OPUS}, 2.0)
    assert list(snapshot.models) == ["gemini-3-flash"]
    assert snapshot.observed_at == 1.0


def test_models_is_a_live_read_only_view_for_ls_enum() -> None:
    book = QuotaBook()
    view = book.models
    assert ls_enum("gemini-3.1-pro-high", view) == "MODEL_PLACEHOLDER_M37"
    book.update(parse_available_models(ANSWER), 1.0)
    assert ls_enum("gemini-3.1-pro-high", view) == "MODEL_PLACEHOLDER_M40"
    with pytest.raises(TypeError):
        view["x"] = BARE  # type: ignore[index]


# --- GET /v1/quota ---------------------------------------------------------------------------


@pytest.fixture
async def client() -> AsyncIterator[tuple[TestClient[web.Request, web.Application], QuotaBook]]:
    book = QuotaBook()
    app = web.Application()
    app[QUOTA] = book
    app.router.add_get("/v1/quota", quota)
    async with TestClient(TestServer(app)) as c:
        yield c, book


async def test_quota_endpoint_before_any_answer(
    client: tuple[TestClient[web.Request, web.Application], QuotaBook],
) -> None:
    c, _ = client
    resp = await c.get("/v1/quota")
    assert resp.status == 200
    assert await resp.json() == {
        "object": "list",
        "data": [],
        "source": "fetchAvailableModels",
        "observed_at": None,
    }


async def test_quota_endpoint_lists_the_book(
    client: tuple[TestClient[web.Request, web.Application], QuotaBook],
) -> None:
    c, book = client
    book.update(parse_available_models(orjson.dumps(ANSWER)), 1767225600.75)
    book.update({"gemini-3-flash": FLASH}, 1767225700.2)
    resp = await c.get("/v1/quota")
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert await resp.json() == {
        "object": "list",
        "data": [
            {
                "model": "chat_20706",
                "display_name": None,
                "remaining_fraction": None,
                "reset_time": None,
                "exhausted": False,
                "observed_at": 1767225600,
            },
            {
                "model": "claude-opus-4-6-thinking",
                "display_name": "Claude Opus 4.6 (Thinking)",
                "remaining_fraction": None,
                "reset_time": "2026-03-01T12:00:00Z",
                "exhausted": True,
                "observed_at": 1767225600,
            },
            {
                "model": "gemini-3-flash",
                "display_name": "Gemini 3 Flash",
                "remaining_fraction": 0.8,
                "reset_time": "2026-03-01T10:00:00Z",
                "exhausted": False,
                "observed_at": 1767225700,
            },
            {
                "model": "gemini-3.1-pro-high",
                "display_name": "Gemini 3.1 Pro (High)",
                "remaining_fraction": 1.0,
                "reset_time": "2026-03-02T00:00:00Z",
                "exhausted": False,
                "observed_at": 1767225600,
            },
        ],
        "source": "fetchAvailableModels",
        "observed_at": 1767225700,
    }

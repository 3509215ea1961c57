"""Fetching remote images (opt-in) so the translator only ever sees data URIs.

Off by default: fetching arbitrary URLs on a client's behalf is a server-side request forgery
risk, and Gemini's Cloud Code path does not fetch URLs itself.
"""

from __future__ import annotations

import base64
from typing import Any

import aiohttp

from zerogravity_proxy.openai.errors import invalid_request

TIMEOUT = aiohttp.ClientTimeout(total=30, sock_connect=10)


async def inline_remote_images(
    body: Any, field: str, http: aiohttp.ClientSession, max_bytes: int
) -> None:
    """Replace every http(s) image URL in `body[field]` with a data URI, in place.

    `field` is `messages` (Chat: `image_url` is `{url}` or a string) or `input` (Responses:
    `input_image` parts carry `image_url` as a string); the parts look alike enough for one walk.
    """
    items = body.get(field) if isinstance(body, dict) else None
    if not isinstance(items, list):
        return
    for i, item in enumerate(items):
        content = item.get("content") if isinstance(item, dict) else None
        if not isinstance(content, list):
            continue
        for j, part in enumerate(content):
            if not isinstance(part, dict):
                continue
            image = part.get("image_url")
            holder, key = (image, "url") if isinstance(image, dict) else (part, "image_url")
            url = holder.get(key)
            if isinstance(url, str) and url.startswith(("http://", "https://")):
                param = f"{field}[{i}].content[{j}].image_url"
                holder[key] = await _fetch_data_uri(http, url, max_bytes, param)


async def _fetch_data_uri(http: aiohttp.ClientSession, url: str, max_bytes: int, param: str) -> str:
    try:
        async with http.get(url, timeout=TIMEOUT) as resp:
            mime = resp.content_type
            if resp.status != 200:
                raise invalid_request(
                    f"Fetching the image failed: HTTP {resp.status}.",
                    param=param,
                    code="image_fetch_failed",
                )
            if not mime.startswith("image/"):
                raise invalid_request(
                    f"The URL is not an image ({mime}).", param=param, code="image_fetch_failed"
                )
            data = await resp.content.read(max_bytes + 1)
    except aiohttp.ClientError as e:
        raise invalid_request(
            f"Fetching the image failed: {e}.", param=param, code="image_fetch_failed"
        ) from None
    if len(data) > max_bytes:
        raise invalid_request(
            f"The image is larger than {max_bytes} bytes.", param=param, code="image_too_large"
        )
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"

"""Image URLs for providers that take only bytes: downloaded over a real socket, size-limited,
inlined as data URLs; failures are typed and nothing reaches the provider (sync|async)."""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator

import pytest

import llmplex
from llmplex.testing import Emulator, Reply
from tests.conftest import Api

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
MODEL = "ollama/llava"


def _vision(url: str, text: str = "What is this?") -> list[dict[str, object]]:
    return [{"role": "user", "content": [{"type": "text", "text": text},
                                         {"type": "image_url", "image_url": {"url": url}}]}]


@pytest.fixture
def api(mode: str, emu: Emulator) -> Iterator[Api]:
    api = Api(mode, providers={"ollama": {"base_url": emu.url},
                               "openai": {"base_url": emu.base_url, "api_key": "sk-test"}})
    yield api
    api.close()


def _sent_image(emu: Emulator) -> bytes:
    (message,) = emu.last_request.json()["messages"]
    (image,) = message["images"]
    return base64.b64decode(image)


def test_an_image_url_is_downloaded_once_and_sent_as_bytes(api: Api, emu: Emulator) -> None:
    url = emu.host_file("/cat.png", PNG, content_type="image/png")
    messages = [*_vision(url), {"role": "assistant", "content": "A cat."}, *_vision(url, "And now?")]
    before = copy.deepcopy(messages)
    r = api.chat(model=MODEL, messages=messages)
    assert r.choices[0].message.content
    assert emu.file_hits("/cat.png") == 1  # the same URL twice in one call: one download
    sent = emu.last_request.json()["messages"]
    assert [base64.b64decode(m["images"][0]) for m in sent if "images" in m] == [PNG, PNG]
    assert messages == before  # the caller's messages are not modified


def test_streamed_calls_inline_too(api: Api, emu: Emulator) -> None:
    url = emu.host_file("/cat.png", PNG, content_type="image/png")
    _, final = api.stream(model=MODEL, messages=_vision(url))
    assert final.choices[0].message.content
    assert _sent_image(emu) == PNG


def test_redirects_are_followed_and_the_type_is_sniffed(api: Api, emu: Emulator) -> None:
    emu.host_file("/real", PNG, content_type="application/octet-stream")
    url = emu.host_file("/short", b"", status=302, headers={"location": "/real"})
    api.chat(model=MODEL, messages=_vision(url))
    assert _sent_image(emu) == PNG
    assert emu.file_hits("/short") == emu.file_hits("/real") == 1


def test_several_images_download_and_keep_their_order(api: Api, emu: Emulator) -> None:
    gif = b"GIF89a" + b"\x00" * 64
    first = emu.host_file("/a.png", PNG, content_type="image/png")
    second = emu.host_file("/b.gif", gif, content_type="image/gif")
    messages = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": first}},
                                             {"type": "image_url", "image_url": {"url": second}}]}]
    api.chat(model=MODEL, messages=messages)
    (message,) = emu.last_request.json()["messages"]
    assert [base64.b64decode(i) for i in message["images"]] == [PNG, gif]


def test_a_missing_image_is_a_typed_error_and_nothing_is_sent(api: Api, emu: Emulator) -> None:
    url = emu.host_file("/gone.png", b"not here", status=404, content_type="text/plain")
    with pytest.raises(llmplex.MediaFetchError) as info:
        api.chat(model=MODEL, messages=_vision(url + "?sig=SECRET-SIGNATURE"))
    assert info.value.image_status == 404 and isinstance(info.value, llmplex.InvalidRequestError)
    assert "HTTP 404" in str(info.value) and "data: URL" in str(info.value)
    assert "SECRET-SIGNATURE" not in str(info.value) + repr(info.value) + info.value.url
    assert emu.requests == []  # the provider never saw the call


def test_an_image_over_the_limit_is_refused_without_reading_it_all(api: Api, emu: Emulator) -> None:
    url = emu.host_file("/huge.png", PNG * 64, content_type="image/png")
    with pytest.raises(llmplex.MediaFetchError, match="max_image_bytes=2,000"):
        api.chat(model=MODEL, messages=_vision(url), max_image_bytes=2000)
    assert emu.requests == []
    api.chat(model=MODEL, messages=_vision(url), max_image_bytes=len(PNG) * 64)
    assert _sent_image(emu) == PNG * 64


def test_a_page_that_is_not_an_image_is_refused(api: Api, emu: Emulator) -> None:
    url = emu.host_file("/page", b"<html>login</html>", content_type="text/html")
    with pytest.raises(llmplex.MediaFetchError, match="text/html, not an image"):
        api.chat(model=MODEL, messages=_vision(url))


def test_downloading_can_be_turned_off(api: Api, emu: Emulator) -> None:
    url = emu.host_file("/cat.png", PNG, content_type="image/png")
    with pytest.raises(llmplex.MediaFetchError, match="max_image_bytes is 0"):
        api.chat(model=MODEL, messages=_vision(url), max_image_bytes=0)
    assert emu.file_hits("/cat.png") == 0


def test_an_unreachable_host_is_a_media_error(api: Api, emu: Emulator) -> None:
    with pytest.raises(llmplex.MediaFetchError, match="could not download"):
        api.chat(model=MODEL, messages=_vision("http://127.0.0.1:1/cat.png"))


def test_providers_that_take_urls_get_the_url_unchanged(api: Api, emu: Emulator) -> None:
    url = emu.host_file("/cat.png", PNG, content_type="image/png")
    emu.enqueue(Reply("A cat."))
    api.chat(model="openai/gpt-4o", messages=_vision(url))
    assert emu.file_hits("/cat.png") == 0
    part = emu.last_request.json()["messages"][0]["content"][1]
    assert part == {"type": "image_url", "image_url": {"url": url}}


def test_data_urls_are_not_downloaded(api: Api, emu: Emulator) -> None:
    data = "data:image/png;base64," + base64.b64encode(PNG).decode()
    api.chat(model=MODEL, messages=_vision(data))
    assert _sent_image(emu) == PNG


def test_the_limit_is_a_checked_setting(api: Api, emu: Emulator) -> None:
    with pytest.raises(llmplex.ConfigurationError, match="max_image_bytes must be an integer >= 0"):
        llmplex.Client(providers={"ollama": {"max_image_bytes": -1}})
    with pytest.raises(llmplex.InvalidRequestError, match="max_image_bytes must be an integer >= 0"):
        api.chat(model=MODEL, messages=_vision("http://127.0.0.1:1/x.png"), max_image_bytes="big")

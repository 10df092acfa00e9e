"""The test fakes end-to-end tests rely on: FakeGraphAPI in-process and as its own process."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.graph_api import FakeGraphAPI

ROOT = Path(__file__).resolve().parents[2]
USER = "5491155550001"


def text_body(to: str, text: str) -> dict[str, object]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"preview_url": False, "body": text},
    }


async def test_success_answer_has_metas_documented_shape_and_unique_wamids() -> None:
    async with FakeGraphAPI() as fake, aiohttp.ClientSession() as session:
        answers = []
        for text in ("a", "b"):
            async with session.post(
                f"{fake.url}/123/messages", json=text_body(USER, text)
            ) as response:
                assert response.status == 200
                answers.append(await response.json())

    first, second = answers
    assert first["messaging_product"] == "whatsapp"
    assert first["contacts"] == [{"input": USER, "wa_id": USER}]
    assert first["messages"][0]["id"] != second["messages"][0]["id"]
    assert [r.wamid for r in fake.requests] == [a["messages"][0]["id"] for a in answers]


async def test_failures_queue_up_and_are_left_out_of_texts_to() -> None:
    async with FakeGraphAPI() as fake, aiohttp.ClientSession() as session:
        fake.fail_next(status=400, code=131047, message="Re-engagement message", count=2)
        statuses = []
        for text in ("one", "two", "three"):
            async with session.post(
                f"{fake.url}/123/messages", json=text_body(USER, text)
            ) as response:
                statuses.append(response.status)
                if response.status != 200:
                    error = (await response.json())["error"]
                    assert error["code"] == 131047
                    assert error["message"] == "(#131047) Re-engagement message"
                    assert error["error_data"]["details"] == "Re-engagement message"

    assert statuses == [400, 400, 200]
    assert [r.status for r in fake.requests] == [400, 400, 200]
    assert fake.texts_to(USER) == ["three"]


async def test_body_without_messaging_product_is_refused_with_code_100() -> None:
    async with (
        FakeGraphAPI() as fake,
        aiohttp.ClientSession() as session,
        session.post(f"{fake.url}/123/messages", json={"to": USER}) as response,
    ):
        assert response.status == 400
        assert (await response.json())["error"]["code"] == 100
    assert fake.requests[0].wamid is None


async def test_wait_for_returns_once_the_condition_holds() -> None:
    async with FakeGraphAPI() as fake, aiohttp.ClientSession() as session:

        async def send_later() -> None:
            await asyncio.sleep(0)
            async with session.post(f"{fake.url}/1/messages", json=text_body(USER, "hi")):
                pass

        task = asyncio.create_task(send_later())
        await fake.wait_for(lambda reqs: len(reqs) >= 1, timeout_s=5)
        await task
    assert fake.texts_to(USER) == ["hi"]


async def test_wait_for_timeout_is_an_assertion_listing_the_requests() -> None:
    async with FakeGraphAPI() as fake, aiohttp.ClientSession() as session:
        async with session.post(f"{fake.url}/1/messages", json=text_body(USER, "only one")):
            pass
        with pytest.raises(AssertionError, match="1 request\\(s\\)") as caught:
            await fake.wait_for(lambda reqs: len(reqs) >= 2, timeout_s=0.05)
    assert "'only one'" in str(caught.value)


async def test_url_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        _ = FakeGraphAPI().url


async def test_runs_as_its_own_process_and_prints_json_lines() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.graph_api",
        "--port",
        "0",
        "--token",
        "tok",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        ready = (await asyncio.wait_for(process.stdout.readline(), timeout=30)).decode()
        assert ready.startswith("ready http://127.0.0.1:")
        url = ready.split()[1]
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{url}/42/messages",
                json=text_body(USER, "bench"),
                headers={"Authorization": "Bearer tok"},
            ) as response,
        ):
            assert response.status == 200
        line = json.loads(await asyncio.wait_for(process.stdout.readline(), timeout=10))
    finally:
        process.terminate()
        await process.wait()

    assert (line["phone_number_id"], line["to"], line["text"], line["status"]) == (
        "42",
        USER,
        "bench",
        200,
    )
    assert line["wamid"].startswith("wamid.")
    assert "headers" not in line
    assert process.returncode == 0

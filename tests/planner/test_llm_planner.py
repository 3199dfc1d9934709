"""The optional LLM planner, against a FAKE OpenAI-compatible server on loopback.

The fake answers each /chat/completions request with the next canned message the test queued,
and records what it was sent. No real model is involved: the point is the wire format, the
mapping of tool calls onto Plans, and the failure paths.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from lamworks import Runtime, load_config


class FakeOpenAIServer:
    """A fake chat-completions endpoint: replies come from ``replies``, requests are kept."""

    def __init__(self) -> None:
        self.replies: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                fake.requests.append(json.loads(body))
                if self.path != "/v1/chat/completions" or not fake.replies:
                    self.send_response(500)
                    self.end_headers()
                    return
                message = fake.replies.pop(0)
                data = json.dumps({"choices": [{"message": message}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeOpenAIServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": name, "arguments": json.dumps(arguments)}}]}


@pytest.fixture
def fake() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def runtime(fake: FakeOpenAIServer, install_plugins: Callable[..., Path],
            write_config: Callable[..., Path]) -> Iterator[Runtime]:
    install_plugins(sample="lamworks_sample")
    path = write_config(plugins="allow = ['sample', 'llm']",
                        extra=f'\n[plugins.llm]\nbase_url = "{fake.url}"\nmodel = "fake"\n')
    path.write_text(path.read_text().replace('planner = "keyword"', 'planner = "llm"'))
    rt = Runtime(load_config(path))
    yield rt
    rt.close()


def test_tool_call_becomes_a_plan_and_runs_through_policies(
    runtime: Runtime, fake: FakeOpenAIServer
) -> None:
    fake.replies.append(_call("sample__add_note", {"text": "from the model"}))
    turn = runtime.handle("s", "alice", "please note that the model wrote this")
    step = turn.awaiting_confirmation
    assert step is not None and step.tool == "sample.add_note"
    assert step.arguments == {"text": "from the model"}
    sent = fake.requests[0]
    names = {t["function"]["name"] for t in sent["tools"]}
    assert {"sample__add_note", "sample__count_notes"} <= names
    assert sent["messages"][-1] == {"role": "user",
                                    "content": "please note that the model wrote this"}


def test_missing_argument_becomes_a_question(runtime: Runtime, fake: FakeOpenAIServer) -> None:
    fake.replies.append(_call("sample__add_note", {}))
    turn = runtime.handle("s", "alice", "add a note")
    assert turn.follow_up is not None and turn.follow_up.field == "text"


def test_plain_answer_and_unavailable_endpoint(runtime: Runtime, fake: FakeOpenAIServer) -> None:
    fake.replies.append({"role": "assistant", "content": "I can only take notes."})
    assert runtime.handle("s", "alice", "sing a song").answer == "I can only take notes."
    # No reply queued: the fake answers 500, the user gets a clear message.
    turn = runtime.handle("s", "alice", "add a note")
    assert "unavailable" in turn.answer and not turn.steps


def test_policies_still_apply_to_what_the_model_proposes(
    runtime: Runtime, fake: FakeOpenAIServer
) -> None:
    fake.replies.append(_call("sample__add_note", {"text": "the secret is 42"}))
    turn = runtime.handle("s", "alice", "remember the answer")
    assert turn.steps[0].status == "denied"
    assert "must not contain secrets" in turn.answer

"""Raw http.client, the lowest sync floor: one kept-alive HTTPConnection with TCP_NODELAY."""

from __future__ import annotations

import http.client
import json
import socket

from clients.base import API_KEY, MESSAGES, OPENAI_CHAT_MODEL, OPENAI_EMBED_MODEL, StreamResult, Target

HEADERS = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}


class RawHttpClient:
    def __init__(self, target: Target) -> None:
        self.conn = http.client.HTTPConnection(target.host, target.port)
        self.conn.connect()
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.chat_path = "/v1/chat/completions"
        self.embed_path = "/v1/embeddings"

    def _post(self, path: str, payload: dict[str, object]) -> http.client.HTTPResponse:
        self.conn.request("POST", path, body=json.dumps(payload).encode(), headers=HEADERS)
        resp = self.conn.getresponse()
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}")
        return resp

    def chat(self) -> str:
        data = json.loads(self._post(self.chat_path, {"model": OPENAI_CHAT_MODEL, "messages": MESSAGES}).read())
        content: str = data["choices"][0]["message"]["content"]
        return content

    def stream(self) -> StreamResult:
        payload = {"model": OPENAI_CHAT_MODEL, "messages": MESSAGES, "stream": True}
        resp = self._post(self.chat_path, payload)
        result = StreamResult()
        while line := resp.readline():
            if line.startswith(b"data: ") and not line.startswith(b"data: [DONE]"):
                choices = json.loads(line[6:])["choices"]
                if choices:
                    result.add(choices[0]["delta"].get("content"))
        return result

    def embed(self) -> int:
        data = json.loads(self._post(self.embed_path, {"model": OPENAI_EMBED_MODEL, "input": ["a"]}).read())
        return len(data["data"][0]["embedding"])

    def close(self) -> None:
        self.conn.close()


def create_sync(target: Target) -> RawHttpClient:
    return RawHttpClient(target)

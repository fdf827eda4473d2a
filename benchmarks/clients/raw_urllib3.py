"""Raw urllib3, a sync floor: one PoolManager, json.dumps/json.loads, SSE read line by line."""

from __future__ import annotations

import json

import urllib3

from clients.base import API_KEY, MESSAGES, OPENAI_CHAT_MODEL, OPENAI_EMBED_MODEL, StreamResult, Target

HEADERS = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}


class RawUrllib3:
    def __init__(self, target: Target) -> None:
        self.http = urllib3.PoolManager()
        self.chat_url = f"{target.openai_base}/chat/completions"
        self.embed_url = f"{target.openai_base}/embeddings"

    def _post(self, url: str, payload: dict[str, object]) -> urllib3.BaseHTTPResponse:
        resp = self.http.request("POST", url, body=json.dumps(payload).encode(), headers=HEADERS)
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}")
        return resp

    def chat(self) -> str:
        data = json.loads(self._post(self.chat_url, {"model": OPENAI_CHAT_MODEL, "messages": MESSAGES}).data)
        content: str = data["choices"][0]["message"]["content"]
        return content

    def stream(self) -> StreamResult:
        body = json.dumps({"model": OPENAI_CHAT_MODEL, "messages": MESSAGES, "stream": True}).encode()
        resp = self.http.request("POST", self.chat_url, body=body, headers=HEADERS, preload_content=False)
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}")
        result = StreamResult()
        for line in resp:
            if line.startswith(b"data: ") and not line.startswith(b"data: [DONE]"):
                choices = json.loads(line[6:])["choices"]
                if choices:
                    result.add(choices[0]["delta"].get("content"))
        resp.release_conn()
        return result

    def embed(self) -> int:
        data = json.loads(self._post(self.embed_url, {"model": OPENAI_EMBED_MODEL, "input": ["a"]}).data)
        return len(data["data"][0]["embedding"])

    def close(self) -> None:
        self.http.clear()


def create_sync(target: Target) -> RawUrllib3:
    return RawUrllib3(target)

"""``python -m llmplex.testing [--port N]``: run the provider emulator in the foreground."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from ._emulator import Emulator

_BANNER = """\
llmplex provider emulator listening on {url}
OpenAI-compatible base URL: {base_url}{key_note}

Every request gets the deterministic echo ("Echo: <last user message>"). Try:

  curl {base_url}/chat/completions -H 'content-type: application/json'{auth} \\
    -d '{{"model": "gpt-4o", "messages": [{{"role": "user", "content": "Hello"}}]}}'

  curl -N {base_url}/chat/completions -H 'content-type: application/json'{auth} \\
    -d '{{"model": "gpt-4o", "stream": true, "messages": [{{"role": "user", "content": "Hello there"}}]}}'

  # any OpenAI-compatible client:
  OpenAI(base_url="{base_url}", api_key="{key}")

Press Ctrl+C to stop.
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, serve until interrupted (Ctrl+C or SIGTERM), return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m llmplex.testing", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: a free port)")
    parser.add_argument("--api-key", default=None, help="require this key (Bearer or api-key header)")
    args = parser.parse_args(argv)

    stopped = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, on_signal)  # before the banner: a supervisor may stop us right after it
    emulator = Emulator(host=args.host, port=args.port)
    if args.api_key:
        emulator.require_api_key(args.api_key)
    try:
        emulator.start()
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    key = args.api_key or "sk-anything"
    print(
        _BANNER.format(
            url=emulator.url,
            base_url=emulator.base_url,
            key=key,
            key_note=f"\nRequired API key: {args.api_key}" if args.api_key else "",
            auth=f" -H 'authorization: Bearer {args.api_key}'" if args.api_key else "",
        ),
        flush=True,
    )
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m llmplex …``: the same as the ``llmplex`` command."""

from llmplex.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

"""``python -m demo [--registry URL ...]``: exit 0 when every figure matches the article, 1 when one does not,
2 when a step of the replay failed."""

from __future__ import annotations

import asyncio
import sys

from demo.client import DemoError
from demo.config import parse
from demo.run import run_demo


def main(argv: list[str] | None = None) -> int:
    config = parse(argv)
    try:
        result = asyncio.run(run_demo(config))
    except DemoError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 2
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())

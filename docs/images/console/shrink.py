"""Copy the console's screenshots that docs/console.md shows from the browser tests' artefacts, made smaller.

    make screenshots      # after the browser tests ran (make test, or pytest tests/e2e/test_console*.py)

Each is cut to its first 1,600 pixels (the top of a phone-width page is what the docs show) and reduced to 64
colours: the pages are flat colours and text, so they stay legible at a tenth of the size.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parents[2] / "test-artifacts" / "browser"
#: The pages docs/console.md shows, by the names the browser tests give their screenshots.
SHOWN = ["sign-in", "password-enrolment", "dashboard-vi", "money-registry", "money-awards", "money-festival",
         "money-campaign-collector", "money-expense-proposed", "leader-households", "leader-declarations",
         "resident-home", "resident-declare", "police-incident", "police-briefing", "mediation-case",
         "mediation-record-book", "public-tip-filed", "public-campaign", "public-verify"]


def main() -> int:
    missing = [name for name in SHOWN if not (ARTIFACTS / f"{name}.png").exists()]
    if missing:
        print(f"not in {ARTIFACTS}: {', '.join(missing)}; run the browser tests first", file=sys.stderr)
        return 1
    for name in SHOWN:
        with Image.open(ARTIFACTS / f"{name}.png") as img:
            top = img.convert("RGB").crop((0, 0, img.width, min(img.height, 1600)))
            top.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(HERE / f"{name}.png", optimize=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

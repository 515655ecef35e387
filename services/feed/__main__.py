"""`python -m services.feed`: run the feed service (settings from the environment)."""

from services.feed.bootstrap import build
from shared.serve import main

if __name__ == "__main__":
    main("feed", build)

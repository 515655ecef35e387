"""`python -m services.notify`: run the notify service (settings from the environment)."""

from services.notify.bootstrap import build
from shared.serve import main

if __name__ == "__main__":
    main("notify", build)

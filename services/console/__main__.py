"""`python -m services.console`: run the console (settings from the environment)."""

from services.console.bootstrap import build
from shared.serve import main

if __name__ == "__main__":
    main("console", build)

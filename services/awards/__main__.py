"""`python -m services.awards`: run the awards service (settings from the environment)."""

from services.awards.bootstrap import build
from shared.serve import main

if __name__ == "__main__":
    main("awards", build)

"""`python -m services.donations`: run the donations service (settings from the environment)."""

from services.donations.bootstrap import build
from shared.serve import main

if __name__ == "__main__":
    main("donations", build)

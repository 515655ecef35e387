"""`python -m services.mediation`: run the mediation service (settings from the environment)."""

from services.mediation.bootstrap import build
from shared.serve import main

if __name__ == "__main__":
    main("mediation", build)

"""`python -m services.incidents`: run the incidents service (settings from the environment)."""

from services.incidents.bootstrap import build
from shared.serve import main

if __name__ == "__main__":
    main("incidents", build)

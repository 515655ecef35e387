"""`python -m services.registry`: run the registry service (settings from the environment)."""

from services.registry.bootstrap import build
from shared.serve import main

if __name__ == "__main__":
    main("registry", build)

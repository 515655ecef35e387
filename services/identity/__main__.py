"""`python -m services.identity`: run the identity service (settings from the environment)."""

from services.identity.bootstrap import build
from shared.serve import main

if __name__ == "__main__":
    main("identity", build)

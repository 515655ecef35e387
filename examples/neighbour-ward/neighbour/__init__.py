"""A neighbouring ward's subscriber to this platform's public feed (HTTP only; it imports nothing of the platform)."""

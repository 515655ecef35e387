"""`make demo`: the Phú Sơn article replayed against a running platform through its public HTTP APIs only.

Run as ``python -m demo`` (see docs/demo.md). ``demo.run.run_demo`` is the coroutine the end-to-end test drives.
"""

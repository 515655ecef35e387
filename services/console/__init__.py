"""The console: the web application people sign in to (server-rendered pages, Jinja2 and htmx)."""

"""Report rendering: data built from the store as plain dicts/pandas frames, rendered with one Jinja2 environment."""

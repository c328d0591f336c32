"""The case workflow as code that knows nothing of HTTP."""

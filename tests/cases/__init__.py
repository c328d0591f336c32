"""The case workflow through the API, the outbox dispatcher and the generated docs."""

"""What anyone may read about the service: categories."""

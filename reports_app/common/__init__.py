"""Pieces every feature's API uses: base schemas, pagination."""

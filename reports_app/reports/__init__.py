"""Citizen reports: the mobile API, the public feed and the photo derivatives."""

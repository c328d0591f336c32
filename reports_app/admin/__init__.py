"""Reference data maintained by admins."""

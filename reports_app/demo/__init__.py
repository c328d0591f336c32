"""The demo province: Đắk Lắk after the July 2025 reform."""

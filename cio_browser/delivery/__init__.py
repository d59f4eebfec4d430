"""Delivery: keep every event until Customer.io accepted it (or set it aside with a reason)."""

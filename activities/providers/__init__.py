"""Vendor implementations behind small protocols, one module per vendor."""

"""Lean protocol clients used on hot paths (the load loop, the probe loop)."""

"""One module per scenario; each registers itself in SCENARIOS (name → scenario)."""

SCENARIOS: dict = {}

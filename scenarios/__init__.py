"""One module per scenario, each with NAME, SUMMARY and ``command`` (its Click command), registered
under the ``chaos.scenarios`` entry points in pyproject.toml."""

"""Run outputs for people: report formats the engine writes into every run directory, found
through the ``chaos.reports`` entry points (a module with ``FILENAME`` and ``render(result)``)."""

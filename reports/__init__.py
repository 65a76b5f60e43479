"""Run outputs for people, found through the ``chaos.reports`` entry points: each names an object
of a kind :mod:`chaos.engine.report_writers` declares (the charts' ``WRITER``, report.md's and
report.html's ``FORMAT``, the comparison's ``COMPARISON``)."""

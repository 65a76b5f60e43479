"""Steps and measurements shared by scenario plans (one module per kind of topology)."""

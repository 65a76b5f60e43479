"""Build literal histories for checker tests."""

from chaos.history import Op


def h(*rows):
    """rows: (type, process, f, key, value, time[, error]) → [Op]."""
    ops = []
    for i, row in enumerate(rows):
        type_, process, f, key, value, time = row[:6]
        error = row[6] if len(row) > 6 else None
        ops.append(Op(i, time, 1_700_000_000 + time, type_, process, f, key, value, None, error))
    return ops

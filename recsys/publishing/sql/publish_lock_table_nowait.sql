-- Held to the commit by the first block of a run's table, so it may truncate it; another
-- block writing at the same time makes this fail at once instead of waiting.
lock table {table} in access exclusive mode nowait

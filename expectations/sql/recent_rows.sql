-- The rows of the days an incremental run rebuilds, and of any later day ({columns}: the
-- table's date column).
select *
from {table}
where {columns} >= {recent_from}

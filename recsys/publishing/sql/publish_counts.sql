-- Rows and distinct keys of a run's table.
select count(*) as n_rows, count(distinct ({key})) as n_keys
from {table}

-- Is the raw table partitioned by load batch?  (Warehouses created before partitioning
-- have plain raw tables; the loader then COPYs into the table itself.)
select c.relkind = 'p'
from pg_class as c
join pg_namespace as n on n.oid = c.relnamespace
where n.nspname = 'raw' and c.relname = %(table)s

-- The type of each column of a table: binary COPY sends values already in their column's type.
select a.attname, t.typname
from pg_attribute as a
join pg_type as t on t.oid = a.atttypid
where a.attrelid = %(table)s::regclass
  and a.attnum > 0
  and not a.attisdropped

-- A valid unique index of the table whose key columns all belong to the given key: the
-- database then refuses a duplicate key (rows with a missing part aside, as in
-- duplicate_keys.sql).  Plain column indexes only: no expressions, predicates or INCLUDE.
select i.indexrelid::regclass::text as index_name
from pg_index as i
where i.indrelid = to_regclass(%(table)s)
  and i.indisunique
  and i.indisvalid
  and i.indpred is null
  and i.indexprs is null
  and i.indnatts = i.indnkeyatts
  and not exists (
      select 1
      from pg_attribute as a
      where a.attrelid = i.indrelid
        and a.attnum = any(i.indkey::int2[])
        and a.attname <> all(%(columns)s::text[])
  )
order by i.indisprimary desc, index_name
limit 1

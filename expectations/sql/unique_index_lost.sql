-- The unique index that keeps the batch's key unique, when it no longer does (dropped,
-- rebuilt invalid or not unique any more).  Reads the catalogue; of the rows only whether
-- there is one (an empty table has no duplicate).
select {index_name} as index_name
where exists (select 1 from {batch})
  and not coalesce(
      (select i.indisunique and i.indisvalid from pg_index as i where i.indexrelid = to_regclass({index_name})),
      false
  )

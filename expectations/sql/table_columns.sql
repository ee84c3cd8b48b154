-- Contract columns of one table as the catalogue describes them (schema checks).
select column_name::text as column_name, data_type::text as data_type
from information_schema.columns
where table_schema = {schema_name}
  and table_name = {table_name}
  and column_name = any({column_names})

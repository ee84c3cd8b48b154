-- A run's table, shaped like its template.
create table {table} (like {template} including defaults including constraints)

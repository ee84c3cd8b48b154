-- Audience queries are the analyst's own SQL: the export reads inside a read-only transaction.
set transaction read only

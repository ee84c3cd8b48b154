-- Audience queries are the analyst's own SQL: the export reads inside a read-only
-- transaction, one snapshot for the lists and the products.
set transaction isolation level repeatable read, read only

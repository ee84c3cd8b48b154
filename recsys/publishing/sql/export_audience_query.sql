-- An analyst's audience query runs as the read-only BI role, in a read-only transaction
-- with a statement timeout: it can read what BI reads and nothing else, and cannot write.
set transaction isolation level repeatable read, read only

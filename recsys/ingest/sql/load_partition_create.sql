-- A load batch's partition, created in the transaction that fills it (no WAL under
-- wal_level minimal).  The check constraint lets ATTACH skip its validation scan.
create table {partition} (
    like {parent} including defaults,
    check (_batch_id = {batch_id})
)

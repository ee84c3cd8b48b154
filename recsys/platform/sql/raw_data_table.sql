-- One raw data table of the contract (recsys/contracts/raw.py): its declared columns plus
-- the batch columns, partitioned by load batch.  recsys.ingest.loading creates each
-- batch's partition in the transaction that COPYs into it, then attaches it: with
-- wal_level minimal PostgreSQL then writes the new rows without WAL (the file is synced
-- at commit instead), which halves the cost of a bulk load, and a batch's gate reads one
-- partition.  Rows inserted by hand land in the DEFAULT partition.  No indexes: the
-- tables are bulk-loaded and read whole by dbt.
create table if not exists {table} ({columns}) partition by list (_batch_id);
create table if not exists {default_partition} partition of {table} default;

-- A column the contract declares and an older raw table lacks (recsys/contracts/raw.py);
-- on a partitioned table it reaches every partition.
alter table {table} add column if not exists {column} {type}

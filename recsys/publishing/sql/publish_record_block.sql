-- Recorded in the same transaction as the block's COPY.
insert into recs.run_blocks (run_id, kind, block_key, n_rows)
values (%(run_id)s, %(kind)s, %(block_key)s, %(n_rows)s)

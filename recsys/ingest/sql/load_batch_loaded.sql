-- The successful batch that already holds this content, if any.
select batch_id
from raw.load_batches
where source = %(source)s
    and file_sha256 = %(sha256)s
    and status = 'succeeded'

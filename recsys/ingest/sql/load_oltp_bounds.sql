-- Newest change inside (watermark, end of the logical date): the extract's upper bound.
select max({updated_at})
from {table}
where {updated_at} > coalesce(%(since)s::timestamptz, '-infinity')
    and {updated_at} < %(before)s

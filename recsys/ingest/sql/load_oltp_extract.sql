-- Rows changed inside (watermark, upper bound] as CSV with the landing headers; ordered so
-- that the same rows always give the same bytes (and checksum).
copy (
    select {columns}
    from {table}
    where {updated_at} > coalesce(%(since)s::timestamptz, '-infinity')
        and {updated_at} <= %(until)s
    order by {updated_at}, {order}
) to stdout (format csv, header)

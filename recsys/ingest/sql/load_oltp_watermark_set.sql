-- Watermarks only move forward.
insert into raw.watermarks (source, watermark)
values (%(key)s, %(watermark)s)
on conflict (source) do update
    set watermark = greatest(raw.watermarks.watermark, excluded.watermark)

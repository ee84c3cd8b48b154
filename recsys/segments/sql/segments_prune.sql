-- Keep the assignments of the newest fits only (the fits and their centres stay: they are small).
delete from ml.behaviour_segments
where fit_date not in (
    select fit_date from ml.behaviour_segment_fits order by fit_date desc limit %(keep)s
)

-- The latest fit before a date (a rerun of a date is matched to the night before, not to itself).
select fit_date
from ml.behaviour_segment_fits
where fit_date < %(fit_date)s
order by fit_date desc
limit 1

-- A rerun of a date replaces its fit (centres and assignments go with it).
delete from ml.behaviour_segment_fits
where fit_date = %(fit_date)s

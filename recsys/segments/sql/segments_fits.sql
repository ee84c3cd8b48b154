-- Every fit, oldest first.
select fit_date, k, silhouette, previous_fit_date, stability, n_fitted, n_assigned, fit_seconds
from ml.behaviour_segment_fits
order by fit_date

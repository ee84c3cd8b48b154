insert into ml.behaviour_segment_fits (
    fit_date, k, silhouette, previous_fit_date, stability, n_fitted, n_assigned, features, fit_seconds
)
values (
    %(fit_date)s, %(k)s, %(silhouette)s, %(previous_fit_date)s, %(stability)s, %(n_fitted)s, %(n_assigned)s,
    %(features)s, %(fit_seconds)s
)

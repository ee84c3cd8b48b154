copy ml.behaviour_segments (fit_date, customer_id, segment) from stdin

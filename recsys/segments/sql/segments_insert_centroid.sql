insert into ml.behaviour_segment_centroids (fit_date, segment, name, description, customers, centre, profile)
values (%(fit_date)s, %(segment)s, %(name)s, %(description)s, %(customers)s, %(centre)s, %(profile)s)

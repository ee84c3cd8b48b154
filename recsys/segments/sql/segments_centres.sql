-- A fit's K-means centres (transformed feature units) by segment code.
select segment, centre
from ml.behaviour_segment_centroids
where fit_date = %(fit_date)s
order by segment

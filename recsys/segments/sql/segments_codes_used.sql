-- Every segment code any fit has used (a retired code is never given to a new cluster).
select distinct segment
from ml.behaviour_segment_centroids

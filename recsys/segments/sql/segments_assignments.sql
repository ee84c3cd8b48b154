-- A fit's segment of every customer.
select customer_id, segment
from ml.behaviour_segments
where fit_date = %(fit_date)s

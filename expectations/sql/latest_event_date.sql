-- One row: the newest event day of the table (read from its date index).
select max(event_date) as event_date
from {events}

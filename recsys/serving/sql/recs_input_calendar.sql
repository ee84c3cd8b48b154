-- The editable calendar of shopping events (dbt seed calendar_events).
select event_name, country, start_month, start_day, end_month, end_day, lead_days, keywords, categories
from marts.dim_calendar_events

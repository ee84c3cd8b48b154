-- The stock alerts of a business date, the lowest cover first.
select
    product_id,
    title,
    category,
    alert_kind,
    stock_level,
    recent_daily_units,
    days_of_cover,
    alert_cover_days,
    stock_level_since
from marts.fct_stock_alerts
where alert_date = %(business_date)s
order by days_of_cover, product_id

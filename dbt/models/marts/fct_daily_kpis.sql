-- Shop KPIs per day, every day from the first event to the run date (days without events
-- are zeros).  An order is a session with a purchase (an invoice for order lines); a
-- customer is new on the day of their first event and returning on later active days.
-- Rebuilt every night from small inputs: the activity of each day (int_daily_activity,
-- kept incrementally) and the first day of each customer (int_customer_activity).
with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

daily_activity as (

    select * from {{ ref('int_daily_activity') }}

),

customers as (

    select * from {{ ref('int_customer_activity') }}

),

days as (

    select generate_series(min(daily_activity.event_date), max(as_of.as_of_date), interval '1 day')::date as kpi_date

    from daily_activity
    cross join as_of

),

new_customers as (

    select
        first_event_date as kpi_date,
        count(*) as new_customers

    from customers
    group by first_event_date

),

final as (

    select
        days.kpi_date,
        coalesce(daily_activity.sessions, 0) as sessions,
        coalesce(daily_activity.views, 0) as views,
        coalesce(daily_activity.carts, 0) as carts,
        coalesce(daily_activity.purchases, 0) as purchases,
        coalesce(daily_activity.orders, 0) as orders,
        (daily_activity.orders::double precision / nullif(daily_activity.sessions, 0)) as conversion_rate,
        coalesce(daily_activity.revenue, 0) as revenue,
        daily_activity.revenue / nullif(daily_activity.orders, 0) as average_basket,
        coalesce(daily_activity.active_customers, 0) as active_customers,
        coalesce(daily_activity.active_customers - new_customers.new_customers, daily_activity.active_customers, 0)
            as returning_customers,
        coalesce(new_customers.new_customers, 0) as new_customers

    from days
    left join daily_activity
        on days.kpi_date = daily_activity.event_date
    left join new_customers
        on days.kpi_date = new_customers.kpi_date

)

select * from final

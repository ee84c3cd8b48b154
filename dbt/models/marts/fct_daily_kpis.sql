-- Shop KPIs per day, every day from the first event to the run date (days without events
-- are zeros).  An order is a session with a purchase (an invoice for order lines).
with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

events as (

    select * from {{ ref('fct_events') }}

),

days as (

    select generate_series(min(events.event_date), max(as_of.as_of_date), interval '1 day')::date as kpi_date

    from events
    cross join as_of

),

daily_activity as (

    select
        event_date as kpi_date,
        count(distinct session_id) as sessions,
        count(*) filter (where event_type = 'view') as views,
        count(*) filter (where event_type = 'cart') as carts,
        count(*) filter (where event_type = 'purchase') as purchases,
        count(distinct session_id) filter (where event_type = 'purchase') as orders,
        coalesce(sum(revenue) filter (where event_type = 'purchase'), 0) as revenue,
        count(distinct customer_id) as active_customers

    from events
    group by event_date

),

customer_days as (

    select distinct
        customer_id,
        event_date

    from events
    where customer_id is not null

),

first_days as (

    select
        customer_id,
        min(event_date) as first_event_date

    from customer_days
    group by customer_id

),

customer_mix as (

    select
        customer_days.event_date as kpi_date,
        count(*) filter (where customer_days.event_date = first_days.first_event_date) as new_customers,
        count(*) filter (where customer_days.event_date > first_days.first_event_date) as returning_customers

    from customer_days
    inner join first_days
        on customer_days.customer_id = first_days.customer_id
    group by customer_days.event_date

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
        coalesce(customer_mix.returning_customers, 0) as returning_customers,
        coalesce(customer_mix.new_customers, 0) as new_customers

    from days
    left join daily_activity
        on days.kpi_date = daily_activity.kpi_date
    left join customer_mix
        on days.kpi_date = customer_mix.kpi_date

)

select * from final

-- Shop KPIs of known customers per day, country, RFM segment and behavioural segment (the
-- customer's current attributes in dim_customers), every day with activity up to the run
-- date.  Additive columns only, so any grouping of the rows sums correctly; rates are
-- ratios of sums (bi.bi_segment_kpis).  Rebuilt every night from the customer-days kept
-- incrementally (int_customer_daily_activity).
with

activity as (

    select * from {{ ref('int_customer_daily_activity') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

final as (

    select
        activity.event_date as kpi_date,
        coalesce(customers.country, 'unknown') as country,
        customers.rfm_segment,
        coalesce(customers.behaviour_segment, 'none') as behaviour_segment,
        sum(activity.sessions)::bigint as sessions,
        sum(activity.views)::bigint as views,
        sum(activity.carts)::bigint as carts,
        sum(activity.purchases)::bigint as purchases,
        sum(activity.orders)::bigint as orders,
        sum(activity.revenue) as revenue,
        count(*) as active_customers,
        count(*) filter (where activity.event_date = (customers.first_event_at at time zone 'UTC')::date)
            as new_customers,
        count(*) filter (where activity.event_date > (customers.first_event_at at time zone 'UTC')::date)
            as returning_customers

    from activity
    inner join customers
        on activity.customer_id = customers.customer_id
    group by 1, 2, 3, 4

)

select * from final

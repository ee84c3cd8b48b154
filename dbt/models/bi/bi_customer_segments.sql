-- How the customer base splits: customers per country, RFM segment and behavioural segment
-- (dim_customers), no customer ids.
with

customers as (

    select * from {{ ref('dim_customers') }}

),

final as (

    select
        coalesce(country, 'unknown') as country,
        rfm_segment,
        coalesce(behaviour_segment, 'none') as behaviour_segment,
        coalesce(behaviour_segment || ' ' || behaviour_segment_name, 'no segment') as behaviour_segment_name,
        count(*) as customers,
        sum(frequency) as orders,
        sum(monetary) as revenue

    from customers
    group by 1, 2, 3, 4

)

select * from final

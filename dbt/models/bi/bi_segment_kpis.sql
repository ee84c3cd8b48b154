-- Shop KPIs of known customers per day, country, RFM segment and behavioural segment, with
-- the behavioural segment's name; additive columns only (a dashboard's rates are ratios of
-- sums: conversion = sum(orders) / sum(sessions), basket = sum(revenue) / sum(orders)).
with

kpis as (

    select * from {{ ref('fct_segment_daily_kpis') }}

),

segments as (

    select * from {{ ref('dim_behaviour_segments') }}

),

final as (

    select
        kpis.kpi_date,
        kpis.country,
        kpis.rfm_segment,
        kpis.behaviour_segment,
        coalesce(kpis.behaviour_segment || ' ' || segments.name, 'no segment') as behaviour_segment_name,
        kpis.sessions,
        kpis.views,
        kpis.carts,
        kpis.purchases,
        kpis.orders,
        kpis.revenue,
        kpis.active_customers,
        kpis.new_customers,
        kpis.returning_customers

    from kpis
    left join segments
        on kpis.behaviour_segment = segments.behaviour_segment

)

select * from final

-- Daily shop KPIs with 7-day rolling views, next to how many customers got a list from the
-- run published that night (recs.runs.business_date; the lists are for the next send date).
with

kpis as (

    select * from {{ ref('fct_daily_kpis') }}

),

runs as (

    select * from {{ source('recs', 'runs') }}

),

published as (

    select
        business_date,
        max(n_customers) as customers_recommended

    from runs
    where published_at is not null
        and business_date is not null
    group by business_date

),

final as (

    select
        kpis.kpi_date,
        kpis.sessions,
        kpis.views,
        kpis.carts,
        kpis.purchases,
        kpis.orders,
        kpis.conversion_rate,
        kpis.revenue,
        kpis.average_basket,
        kpis.active_customers,
        kpis.returning_customers,
        kpis.new_customers,
        sum(kpis.revenue) over last_7_days as revenue_7d,
        sum(kpis.orders) over last_7_days as orders_7d,
        sum(kpis.orders) over last_7_days::double precision
            / nullif(sum(kpis.sessions) over last_7_days, 0) as conversion_rate_7d,
        published.customers_recommended

    from kpis
    left join published
        on kpis.kpi_date = published.business_date
    window last_7_days as (order by kpis.kpi_date rows between 6 preceding and current row)

)

select * from final

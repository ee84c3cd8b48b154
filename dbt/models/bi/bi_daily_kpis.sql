-- Daily shop KPIs with 7-day rolling views, next to what was published for that day.
with

kpis as (

    select * from {{ ref('fct_daily_kpis') }}

),

runs as (

    select * from {{ source('recs', 'runs') }}

),

published as (

    select
        context_date,
        max(n_customers) filter (where status in ('current', 'previous')) as customers_recommended

    from runs
    group by context_date

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
        on kpis.kpi_date = published.context_date
    window last_7_days as (order by kpis.kpi_date rows between 6 preceding and current row)

)

select * from final

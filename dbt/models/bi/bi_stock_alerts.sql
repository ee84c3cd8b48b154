-- The stock alerts of the latest business date (fct_stock_alerts): one row per active
-- product whose days of cover are below the alert threshold.
with

alerts as (

    select * from {{ ref('fct_stock_alerts') }}

),

final as (

    select
        alert_date,
        product_id,
        title,
        category,
        brand,
        alert_kind,
        stock_level,
        recent_daily_units,
        days_of_cover,
        alert_cover_days,
        stock_level_since

    from alerts

)

select * from final

-- Purchases per product and ISO week (weeks start on Monday), guests included: the demand
-- curve behind trending and seasonal scores.  Weeks without purchases have no row.
-- Rebuilt every night from the purchases per product and day (int_product_daily_purchases,
-- kept incrementally), not from the events.
with

daily_purchases as (

    select * from {{ ref('int_product_daily_purchases') }}

),

final as (

    select
        product_id,
        date_trunc('week', event_date)::date as week_start,
        to_char(date_trunc('week', event_date), 'IYYY-"W"IW') as iso_week,
        sum(n_purchases)::bigint as n_purchases,
        sum(quantity)::bigint as quantity

    from daily_purchases
    group by product_id, date_trunc('week', event_date)

)

select * from final

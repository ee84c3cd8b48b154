-- Purchases per product and ISO week (weeks start on Monday), guests included: the demand
-- curve behind trending and seasonal scores.  Weeks without purchases have no row.
with

purchases as (

    select * from {{ ref('fct_events') }}
    where event_type = 'purchase'

),

final as (

    select
        product_id,
        date_trunc('week', event_date)::date as week_start,
        to_char(event_date, 'IYYY-"W"IW') as iso_week,
        count(*) as n_purchases,
        sum(quantity) as quantity

    from purchases
    group by product_id, date_trunc('week', event_date)::date, to_char(event_date, 'IYYY-"W"IW')

)

select * from final

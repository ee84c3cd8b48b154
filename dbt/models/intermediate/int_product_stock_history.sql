-- The stock of every catalogue product over business dates, as stretches of the same
-- delivered level and status: the deliveries up to as_of_date (stg_shop__product_stock; the
-- last delivery of a date wins), one row per change.  valid_to is exclusive, null for the
-- stretch that holds on as_of_date.  Small (products x changes), rebuilt every night.
{{ config(materialized='table') }}

with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

deliveries as (

    select deliveries.*

    from {{ ref('stg_shop__product_stock') }} as deliveries
    cross join as_of
    where deliveries.logical_date <= as_of.as_of_date

),

daily as (

    select distinct on (product_id, logical_date)
        product_id,
        logical_date,
        stock_level,
        coalesce(is_active, true) as is_active

    from deliveries
    order by product_id, logical_date, batch_id desc, line_number desc

),

compared as (

    select
        *,
        lag(stock_level) over by_date as previous_stock_level,
        lag(is_active) over by_date as previous_is_active,
        row_number() over by_date as delivery_number

    from daily
    window by_date as (partition by product_id order by logical_date)

),

changes as (

    select
        product_id,
        logical_date as valid_from,
        stock_level,
        is_active

    from compared
    where delivery_number = 1
        or stock_level is distinct from previous_stock_level
        or is_active is distinct from previous_is_active

),

final as (

    select
        product_id,
        valid_from,
        lead(valid_from) over (partition by product_id order by valid_from) as valid_to,
        stock_level,
        is_active,
        is_active and stock_level <= 0 as is_out_of_stock

    from changes

)

select * from final

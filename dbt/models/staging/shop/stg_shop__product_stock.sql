-- Every delivered stock level: one row per admitted products row with the business date
-- its load batch ran for.  int_product_stock_history turns the deliveries into stretches.
with

source as (

    {{ admitted_rows(source('shop', 'products')) }}

),

batches as (

    select * from {{ ref('stg_shop__load_batches') }}

),

final as (

    select
        trim(source.product_id) as product_id,
        source.stock_level,
        source.is_active,
        batches.logical_date,
        source._batch_id as batch_id,
        source._line_number as line_number

    from source
    inner join batches
        on source._batch_id = batches.batch_id

)

select * from final

-- An invoice is immutable: when it arrives in several batches, the lines of the latest
-- batch holding it win.  order_line_id numbers an invoice's lines in file order.
with

source as (

    {{ admitted_rows(source('shop', 'order_lines')) }}

),

renamed as (

    select
        upper(trim(invoice_no)) as invoice_no,
        -- Online Retail StockCodes differ only in case for one product (85123A / 85123a)
        upper(trim(product_id)) as product_id,
        nullif(trim(description), '') as description,
        quantity,
        invoice_ts at time zone 'UTC' as invoice_ts,
        unit_price,
        nullif(trim(customer_id), '') as customer_id,
        nullif(trim(country), '') as country,
        _batch_id as batch_id,
        _line_number as line_number

    from source

),

latest_batches as (

    select
        invoice_no,
        max(batch_id) as batch_id

    from renamed
    group by invoice_no

),

latest_lines as (

    select renamed.*

    from renamed
    inner join latest_batches
        on renamed.invoice_no = latest_batches.invoice_no
        and renamed.batch_id = latest_batches.batch_id

),

final as (

    select
        invoice_no || '-' || row_number() over (
            partition by invoice_no
            order by line_number
        ) as order_line_id,
        invoice_no,
        product_id,
        description,
        quantity,
        unit_price,
        invoice_ts,
        (invoice_ts at time zone 'UTC')::date as invoice_date,
        customer_id,
        country,
        batch_id,
        line_number

    from latest_lines

)

select * from final

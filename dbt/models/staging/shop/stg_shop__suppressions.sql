-- Who must not be mailed, as delivered: the shop's or the email tool's suppression list.
-- The address is normalised as in stg_shop__customers so the two can be matched.
with

source as (

    {{ admitted_rows(source('shop', 'suppressions')) }}

),

final as (

    select
        nullif(trim(customer_id), '') as customer_id,
        nullif(lower(trim(email)), '') as email,
        reason,
        suppressed_at,
        nullif(trim(source), '') as source_name,
        _batch_id as batch_id

    from source

)

select * from final

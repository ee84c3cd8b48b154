-- The customers a campaign can reach and how: the only model that holds e-mail addresses,
-- in the crm schema that only the CRM role reads.  A customer without an address is kept
-- (their external id reaches a CRM tool's profile).
with

customers as (

    select * from {{ ref('int_customers_unioned') }}

),

segments as (

    select customer_id, rfm_segment from {{ ref('dim_customers') }}

),

final as (

    select
        customers.customer_id,
        customers.email,
        customers.country,
        segments.rfm_segment

    from customers
    left join segments on segments.customer_id = customers.customer_id

)

select * from final

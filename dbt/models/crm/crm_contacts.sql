-- The customers a campaign can reach and how: the only model that holds e-mail addresses,
-- in the crm schema that only the CRM role reads.  A customer without an address is kept
-- (their external id reaches a CRM tool's profile).  Campaigns send only to customers with
-- marketing consent who are not suppressed (by customer id or by address).
with

customers as (

    select * from {{ ref('int_customers_unioned') }}

),

segments as (

    select customer_id, rfm_segment from {{ ref('dim_customers') }}

),

suppressions as (

    select * from {{ ref('crm_suppressions') }}

),

-- the earliest suppression of each customer, matched by id or by address
suppressed as (

    select distinct on (customers.customer_id)
        customers.customer_id,
        suppressions.reason

    from customers
    join suppressions
        on suppressions.customer_id = customers.customer_id
        or (suppressions.email is not null and suppressions.email = customers.email)
    order by customers.customer_id, suppressions.suppressed_at

),

final as (

    select
        customers.customer_id,
        customers.email,
        customers.country,
        segments.rfm_segment,
        customers.marketing_consent,
        suppressed.customer_id is not null as is_suppressed,
        suppressed.reason as suppression_reason

    from customers
    left join segments on segments.customer_id = customers.customer_id
    left join suppressed on suppressed.customer_id = customers.customer_id

)

select * from final

-- Customers as last loaded: the latest batch's row of every customer.  The e-mail address
-- (personal data) is normalised here and goes on only to the crm schema, which only the
-- CRM role reads; the marts that analysts see never hold it.
with

source as (

    {{ admitted_rows(source('shop', 'customers')) }}

),

renamed as (

    select
        trim(customer_id) as customer_id,
        nullif(trim(country), '') as country,
        signup_date,
        nullif(lower(trim(email)), '') as email,
        marketing_consent,
        coalesce(attributes, '{}'::jsonb) as attributes,
        _batch_id as batch_id,
        _line_number as line_number

    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by customer_id
            order by batch_id desc, line_number desc
        ) as version_rank

    from renamed

),

final as (

    select
        customer_id,
        country,
        signup_date,
        email,
        marketing_consent,
        attributes,
        batch_id

    from ranked
    where version_rank = 1

)

select * from final

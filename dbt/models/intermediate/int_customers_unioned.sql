-- Registered customers plus customers only seen in order lines or events (Online Retail has
-- no customer file): those take the most frequent country of their order lines.  Customers
-- with events come from int_customer_activity (one row each), not from the events.
with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

registered as (

    select * from {{ ref('stg_shop__customers') }}

),

order_lines as (

    select * from {{ ref('int_order_lines_flagged') }}

),

-- customers with an event up to the run date (fct_events), summarised per customer
active_customers as (

    select customer_id from {{ ref('int_customer_activity') }}

),

registered_as_of as (

    select registered.*

    from registered
    cross join as_of
    where registered.signup_date is null
        or registered.signup_date <= as_of.as_of_date

),

order_line_customers as (

    select
        order_lines.customer_id,
        mode() within group (order by order_lines.country) as most_frequent_country

    from order_lines
    cross join as_of
    where order_lines.has_customer
        and order_lines.invoice_date <= as_of.as_of_date
    group by order_lines.customer_id

),

-- one row per customer: the three sources are unique by customer, joined on it
final as (

    select
        coalesce(registered_as_of.customer_id, order_line_customers.customer_id, active_customers.customer_id)
            as customer_id,
        coalesce(registered_as_of.country, order_line_customers.most_frequent_country) as country,
        registered_as_of.signup_date,
        registered_as_of.email,
        coalesce(registered_as_of.marketing_consent, false) as marketing_consent,
        coalesce(registered_as_of.attributes, '{}'::jsonb) as attributes,
        registered_as_of.customer_id is not null as is_registered

    from registered_as_of
    full outer join order_line_customers
        on registered_as_of.customer_id = order_line_customers.customer_id
    full outer join active_customers
        on coalesce(registered_as_of.customer_id, order_line_customers.customer_id) = active_customers.customer_id

)

select * from final

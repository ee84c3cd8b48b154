-- Every email event of both tools in one shape, each tied to a customer: the id the send
-- file gave the tool, else the customer whose address it is.  An event is kept once per id
-- and tool (a re-sent export does not count twice).
with

braze as (

    select 'braze' as tool, * from {{ ref('stg_shop__braze_events') }}

),

klaviyo as (

    select 'klaviyo' as tool, * from {{ ref('stg_shop__klaviyo_events') }}

),

customers as (

    select customer_id, email from {{ ref('stg_shop__customers') }} where email is not null

),

unioned as (

    select * from braze
    union all
    select * from klaviyo

),

deduplicated as (

    select distinct on (tool, event_id) *
    from unioned
    order by tool, event_id, batch_id desc

),

final as (

    select
        deduplicated.tool,
        deduplicated.event_id,
        deduplicated.event_type,
        deduplicated.event_ts,
        coalesce(deduplicated.customer_id, customers.customer_id) as customer_id,
        deduplicated.email,
        deduplicated.tool_campaign_name,
        deduplicated.url

    from deduplicated
    left join customers
        on deduplicated.customer_id is null and customers.email = deduplicated.email

)

select * from final

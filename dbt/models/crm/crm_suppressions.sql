-- Who must not be mailed as of the run date: the suppression list plus the unsubscribes,
-- hard bounces and spam complaints the email tools reported (personal data: crm schema).
with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

listed as (

    select customer_id, email, reason, suppressed_at, coalesce(source_name, 'list') as source_name
    from {{ ref('stg_shop__suppressions') }}

),

reported as (

    select
        customer_id,
        email,
        case event_type when 'unsubscribe' then 'unsubscribe' when 'bounce' then 'bounce' else 'complaint' end
            as reason,
        event_ts as suppressed_at,
        tool as source_name
    from {{ ref('int_email_events') }}
    where event_type in ('unsubscribe', 'bounce', 'complaint')

),

final as (

    select suppressions.*
    from (select * from listed union all select * from reported) as suppressions
    cross join as_of
    where suppressions.suppressed_at < as_of.as_of_date + 1

)

select * from final

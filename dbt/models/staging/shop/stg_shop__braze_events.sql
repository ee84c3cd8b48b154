-- Braze Currents email events with the Currents event name reduced to the platform's
-- email event names (int_email_events unions them with Klaviyo's).
with

source as (

    {{ admitted_rows(source('shop', 'braze_events')) }}

),

final as (

    select
        trim(id) as event_id,
        case split_part(event_type, '.', 4)
            when 'Send' then 'send'
            when 'Delivery' then 'delivery'
            when 'Open' then 'open'
            when 'Click' then 'click'
            when 'Bounce' then 'bounce'
            when 'SoftBounce' then 'soft_bounce'
            when 'Unsubscribe' then 'unsubscribe'
            when 'MarkAsSpam' then 'complaint'
        end as event_type,
        to_timestamp("time") as event_ts,
        nullif(trim(external_user_id), '') as customer_id,
        nullif(lower(trim(email_address)), '') as email,
        trim(campaign_name) as tool_campaign_name,
        url,
        _batch_id as batch_id

    from source

)

select * from final

-- Klaviyo email metric events with the metric reduced to the platform's email event names.
with

source as (

    {{ admitted_rows(source('shop', 'klaviyo_events')) }}

),

final as (

    select
        trim(event_id) as event_id,
        case metric
            when 'Received Email' then 'delivery'
            when 'Opened Email' then 'open'
            when 'Clicked Email' then 'click'
            when 'Bounced Email' then case when lower(bounce_type) = 'soft' then 'soft_bounce' else 'bounce' end
            when 'Dropped Email' then 'dropped'
            when 'Unsubscribed' then 'unsubscribe'
            when 'Marked Email as Spam' then 'complaint'
        end as event_type,
        event_ts,
        nullif(trim(external_id), '') as customer_id,
        nullif(lower(trim(email)), '') as email,
        trim(campaign_name) as tool_campaign_name,
        url,
        _batch_id as batch_id

    from source

)

select * from final

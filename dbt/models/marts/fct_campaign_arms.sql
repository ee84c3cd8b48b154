-- The funnel and outcomes of every arm of every delivered send: what the campaign report
-- and the BI dashboards plot (the uplift with its interval is in recs.campaign_results).
with

recipients as (

    select * from {{ ref('fct_campaign_recipients') }}

),

final as (

    select
        campaign,
        send_date,
        arm,
        bool_and(window_closed) as window_closed,
        count(*)::bigint as recipients,
        avg(sent::int)::double precision as sent_rate,
        avg(delivered::int)::double precision as delivery_rate,
        (count(*) filter (where opened) / nullif(count(*) filter (where delivered), 0)::double precision)
            as open_rate,
        (count(*) filter (where clicked) / nullif(count(*) filter (where delivered), 0)::double precision)
            as click_rate,
        avg(unsubscribed::int)::double precision as unsubscribe_rate,
        avg(converted::int)::double precision as conversion_rate,
        (sum(revenue) / count(*))::double precision as revenue_per_recipient,
        (sum(items)::double precision / nullif(sum(orders), 0)) as basket_size,
        (sum(recommended_revenue) / nullif(sum(revenue), 0))::double precision as recommended_revenue_share,
        avg(repeat_30::int)::double precision as repeat_30_rate,
        avg(repeat_60::int)::double precision as repeat_60_rate

    from recipients
    group by campaign, send_date, arm

)

select * from final

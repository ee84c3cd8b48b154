-- One row per customer of a delivered campaign send, in every arm (intention to treat:
-- everyone assigned, not only openers): the email funnel the tool reported, purchases
-- within the send's attribution window (and whether they were recommended products), spend
-- before the send (the CUPED covariate) and repeat purchases within 30 and 60 days.
with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

deliveries as (

    select campaign, send_date, tool_campaign_name, attribution_days
    from {{ source('recs', 'campaign_deliveries') }}

),

audiences as (

    select audiences.campaign, audiences.send_date, audiences.customer_id, audiences.arm
    from {{ source('recs', 'campaign_audiences') }} as audiences
    join deliveries
        on deliveries.campaign = audiences.campaign and deliveries.send_date = audiences.send_date
    where audiences.arm is not null

),

items as (

    select campaign, send_date, customer_id, product_id, min(rank) as best_rank
    from {{ source('recs', 'campaign_items') }}
    group by campaign, send_date, customer_id, product_id

),

purchases as (

    select customer_id, event_date, session_id, product_id, revenue
    from {{ ref('fct_events') }}
    where event_type = 'purchase' and customer_id is not null

),

email as (

    select
        tool_campaign_name,
        customer_id,
        bool_or(event_type in ('send', 'delivery', 'bounce', 'soft_bounce', 'dropped')) as sent,
        bool_or(event_type = 'delivery') as delivered,
        bool_or(event_type = 'open') as opened,
        bool_or(event_type = 'click') as clicked,
        bool_or(event_type = 'unsubscribe') as unsubscribed,
        bool_or(event_type in ('bounce', 'soft_bounce', 'dropped')) as bounced,
        bool_or(event_type = 'complaint') as complained

    from {{ ref('int_email_events') }}
    where customer_id is not null
    group by tool_campaign_name, customer_id

),

-- each recipient's purchases from the pre-period to 60 days after the send, up to the run date
bought as (

    select
        audiences.campaign,
        audiences.send_date,
        audiences.customer_id,
        purchases.event_date,
        purchases.session_id,
        purchases.revenue,
        items.best_rank,
        purchases.event_date >= audiences.send_date
            and purchases.event_date < audiences.send_date + deliveries.attribution_days as in_window,
        purchases.event_date < audiences.send_date as in_pre_period

    from audiences
    join deliveries
        on deliveries.campaign = audiences.campaign and deliveries.send_date = audiences.send_date
    cross join as_of
    join purchases
        on purchases.customer_id = audiences.customer_id
        and purchases.event_date >= audiences.send_date - {{ var('campaign_pre_period_days') }}
        and purchases.event_date < audiences.send_date + 60
        and purchases.event_date <= as_of.as_of_date
    left join items
        on items.campaign = audiences.campaign
        and items.send_date = audiences.send_date
        and items.customer_id = audiences.customer_id
        and items.product_id = purchases.product_id

),

outcomes as (

    select
        campaign,
        send_date,
        customer_id,
        count(distinct session_id) filter (where in_window) as orders,
        count(*) filter (where in_window) as items,
        coalesce(sum(revenue) filter (where in_window), 0) as revenue,
        count(*) filter (where in_window and best_rank is not null) as recommended_items,
        coalesce(sum(revenue) filter (where in_window and best_rank is not null), 0) as recommended_revenue,
        min(best_rank) filter (where in_window) as best_recommended_rank,
        coalesce(sum(revenue) filter (where in_pre_period), 0) as pre_period_revenue,
        count(distinct event_date) filter (where not in_pre_period and event_date < send_date + 30) as purchase_days_30,
        count(distinct event_date) filter (where not in_pre_period) as purchase_days_60

    from bought
    group by campaign, send_date, customer_id

),

final as (

    select
        audiences.campaign,
        audiences.send_date,
        audiences.customer_id,
        audiences.arm,
        deliveries.attribution_days,
        as_of.as_of_date >= audiences.send_date + deliveries.attribution_days - 1 as window_closed,
        coalesce(email.sent, false) as sent,
        coalesce(email.delivered, false) as delivered,
        coalesce(email.opened, false) as opened,
        coalesce(email.clicked, false) as clicked,
        coalesce(email.unsubscribed, false) as unsubscribed,
        coalesce(email.bounced, false) as bounced,
        coalesce(email.complained, false) as complained,
        coalesce(outcomes.orders, 0) > 0 as converted,
        coalesce(outcomes.orders, 0)::integer as orders,
        coalesce(outcomes.items, 0)::integer as items,
        coalesce(outcomes.revenue, 0)::numeric(18, 4) as revenue,
        coalesce(outcomes.recommended_items, 0)::integer as recommended_items,
        coalesce(outcomes.recommended_revenue, 0)::numeric(18, 4) as recommended_revenue,
        outcomes.best_recommended_rank::integer as best_recommended_rank,
        coalesce(outcomes.pre_period_revenue, 0)::numeric(18, 4) as pre_period_revenue,
        coalesce(outcomes.purchase_days_30, 0) >= 2 as repeat_30,
        coalesce(outcomes.purchase_days_60, 0) >= 2 as repeat_60

    from audiences
    join deliveries
        on deliveries.campaign = audiences.campaign and deliveries.send_date = audiences.send_date
    cross join as_of
    left join email
        on email.tool_campaign_name = deliveries.tool_campaign_name and email.customer_id = audiences.customer_id
    left join outcomes
        on outcomes.campaign = audiences.campaign
        and outcomes.send_date = audiences.send_date
        and outcomes.customer_id = audiences.customer_id

)

select * from final

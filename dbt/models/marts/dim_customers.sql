-- One row per customer known as of the run date, with RFM scores over the customers who
-- bought: recency in days since the last purchase, frequency in orders, monetary in
-- revenue.  Scores are 1..n (var rfm.n_tiles, 5 best); customers who never bought have
-- no scores and the segment 'prospect'.
{%- set rfm = var('rfm') %}

with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

customers as (

    select * from {{ ref('int_customers_unioned') }}

),

events as (

    select * from {{ ref('fct_events') }}
    where customer_id is not null

),

activity as (

    select
        customer_id,
        min(event_ts) as first_event_at,
        max(event_ts) as last_event_at

    from events
    group by customer_id

),

purchases as (

    select
        events.customer_id,
        (max(as_of.as_of_date) - max(events.event_date))::integer as recency_days,
        count(distinct coalesce(events.session_id, events.event_id))::integer as frequency,
        coalesce(sum(events.revenue), 0) as monetary

    from events
    cross join as_of
    where events.event_type = 'purchase'
    group by events.customer_id

),

scored as (

    select
        *,
        {{ rfm_score('recency_days desc') }} as r_score,
        {{ rfm_score('frequency') }} as f_score,
        {{ rfm_score('monetary') }} as m_score

    from purchases

),

segmented as (

    select
        *,
        case
            when frequency = 1 and recency_days <= {{ rfm.new_customer_days | int }}
                then 'new'
            when r_score >= {{ rfm.champions.min_r }} and f_score >= {{ rfm.champions.min_f }}
                then 'champions'
            when r_score >= {{ rfm.loyal.min_r }} and f_score >= {{ rfm.loyal.min_f }}
                then 'loyal'
            when r_score <= {{ rfm.at_risk.max_r }} and f_score >= {{ rfm.at_risk.min_f }}
                then 'at_risk'
            when r_score <= {{ rfm.hibernating.max_r }} and f_score <= {{ rfm.hibernating.max_f }}
                then 'hibernating'
            else 'promising'
        end as rfm_segment

    from scored

),

final as (

    select
        customers.customer_id,
        customers.country,
        customers.signup_date,
        customers.email_hash,
        customers.attributes,
        activity.first_event_at,
        activity.last_event_at,
        (as_of.as_of_date - coalesce(customers.signup_date, (activity.first_event_at at time zone 'UTC')::date))::integer
            as tenure_days,
        segmented.recency_days,
        coalesce(segmented.frequency, 0) as frequency,
        coalesce(segmented.monetary, 0) as monetary,
        segmented.r_score,
        segmented.f_score,
        segmented.m_score,
        coalesce(segmented.rfm_segment, 'prospect') as rfm_segment,
        customers.is_registered

    from customers
    cross join as_of
    left join activity
        on customers.customer_id = activity.customer_id
    left join segmented
        on customers.customer_id = segmented.customer_id

)

select * from final

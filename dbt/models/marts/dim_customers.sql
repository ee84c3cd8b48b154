-- One row per customer known as of the run date, with RFM scores over the customers who
-- bought: recency in days since the last purchase, frequency in orders, monetary in
-- revenue.  Scores are 1..n (var rfm.n_tiles, 5 best); customers who never bought have
-- no scores and the segment 'prospect'.  Rebuilt every night (recency and tenure move with
-- the run date, scores are ranks over all buyers) from one row per customer
-- (int_customer_activity), not from the events.  The behavioural segment is the
-- customer's cluster in the latest fit of recsys.segments up to the run date (null for
-- customers without events, and before the first fit).
{%- set rfm = var('rfm') %}

with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

customers as (

    select * from {{ ref('int_customers_unioned') }}

),

activity as (

    select * from {{ ref('int_customer_activity') }}

),

purchases as (

    select
        activity.customer_id,
        (as_of.as_of_date - activity.last_purchase_date)::integer as recency_days,
        activity.frequency,
        activity.monetary

    from activity
    cross join as_of
    where activity.last_purchase_date is not null

),

scored as (

    select
        *,
        {{ rfm_score('recency_days desc') }} as r_score,
        {{ rfm_score('frequency') }} as f_score,
        {{ rfm_score('monetary') }} as m_score

    from purchases

),

behaviour_fit as (

    select * from {{ ref('int_behaviour_segment_fit') }}

),

behaviour as (

    select
        assigned.customer_id,
        assigned.segment as behaviour_segment,
        centroids.name as behaviour_segment_name

    from {{ source('ml', 'behaviour_segments') }} as assigned
    inner join behaviour_fit
        on assigned.fit_date = behaviour_fit.fit_date
    inner join {{ source('ml', 'behaviour_segment_centroids') }} as centroids
        on assigned.fit_date = centroids.fit_date
        and assigned.segment = centroids.segment

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
        {{ declared_attributes('customers.attributes') }} as attributes,
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
        customers.is_registered,
        behaviour.behaviour_segment,
        behaviour.behaviour_segment_name

    from customers
    cross join as_of
    left join activity
        on customers.customer_id = activity.customer_id
    left join segmented
        on customers.customer_id = segmented.customer_id
    left join behaviour
        on customers.customer_id = behaviour.customer_id

)

select * from final

-- The funnel and outcomes of every arm of every campaign send, for dashboards.
select * from {{ ref('fct_campaign_arms') }}

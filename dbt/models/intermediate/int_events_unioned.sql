-- The current version of every event (site events and purchases derived from order lines)
-- in one shape, not yet bounded by as_of_date: int_event_versions without the versions a
-- later batch replaced.  A view, and a single select on purpose: its readers' filters by day
-- or key then reach that table's (partial) indexes, which a chain of CTEs hides from the
-- planner's index lookups per key.
select
    event_id,
    source,
    customer_id,
    session_id,
    event_type,
    product_id,
    event_ts,
    event_date,
    quantity,
    price,
    revenue,
    rating,
    batch_id

from {{ ref('int_event_versions') }}
where superseded_by_batch_id is null

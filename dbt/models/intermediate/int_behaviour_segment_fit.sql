-- The behavioural segment fit that holds on the run date: the latest fit of recsys.segments
-- on or before as_of_date (none before the first fit).  One row or none.
with

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

fits as (

    select * from {{ source('ml', 'behaviour_segment_fits') }}

),

final as (

    select fits.*

    from fits
    cross join as_of
    where fits.fit_date <= as_of.as_of_date
    order by fits.fit_date desc
    limit 1

)

select * from final

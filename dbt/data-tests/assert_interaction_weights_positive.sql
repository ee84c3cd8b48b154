-- Every interaction has some event, so its weight must be a positive finite number.
with

interactions as (

    select * from {{ ref('int_user_item_interactions') }}

),

final as (

    select customer_id, product_id, weight

    from interactions
    where not (weight > 0 and weight < 'Infinity'::double precision)

)

select * from final

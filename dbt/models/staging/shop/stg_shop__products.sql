-- The catalogue as last loaded: the latest batch's row of every product.
with

source as (

    {{ admitted_rows(source('shop', 'products')) }}

),

renamed as (

    select
        trim(product_id) as product_id,
        nullif(trim(title), '') as title,
        nullif(trim(category), '') as category,
        nullif(trim(brand), '') as brand,
        price,
        stock_level,
        created_at,
        nullif(trim(description), '') as description,
        nullif(trim(image_url), '') as image_url,
        nullif(trim(product_url), '') as product_url,
        is_active,
        _batch_id as batch_id,
        _line_number as line_number

    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by product_id
            order by batch_id desc, line_number desc
        ) as version_rank

    from renamed

),

final as (

    select
        product_id,
        title,
        category,
        brand,
        price,
        stock_level,
        created_at,
        description,
        image_url,
        product_url,
        is_active,
        batch_id

    from ranked
    where version_rank = 1

)

select * from final

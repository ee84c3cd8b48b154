{#- Building blocks of the interaction weight and product attributes, driven by the vars
    in dbt_project.yml so recsys.training.dataset and the marts use one definition. -#}

{#- log_base(1 + count): diminishing returns, so 500 purchases weigh ~9x one purchase
    (base 2), not 500x. -#}
{% macro log_scaled(count_column) -%}
    {%- set base = var('count_log_base') | float -%}
    {%- if base <= 1 -%}
        {{ exceptions.raise_compiler_error("var count_log_base must be > 1, got " ~ base) }}
    {%- endif -%}
    (ln(1 + coalesce({{ count_column }}, 0)) / ln({{ base }}))
{%- endmacro %}


{#- The weight of one event type from var event_weights; a missing or non-positive weight is
    a configuration error, not a silent zero. -#}
{% macro event_weight(event_type) -%}
    {%- set weights = var('event_weights') -%}
    {%- if event_type not in weights or (weights[event_type] | float) <= 0 -%}
        {{ exceptions.raise_compiler_error("var event_weights needs a positive weight for '" ~ event_type ~ "'") }}
    {%- endif -%}
    {{ weights[event_type] | float }}
{%- endmacro %}


{#- 0.5 ^ (days / half-life): an interaction recency_half_life_days old counts half. -#}
{% macro recency_decay(days_column) -%}
    {%- set half_life = var('recency_half_life_days') | float -%}
    {%- if half_life <= 0 -%}
        {{ exceptions.raise_compiler_error("var recency_half_life_days must be > 0, got " ~ half_life) }}
    {%- endif -%}
    power(0.5, greatest({{ days_column }}, 0)::double precision / {{ half_life }})
{%- endmacro %}


{#- True for merchandise, false for the fee/postage/adjustment codes of var fee_product_codes. -#}
{% macro is_product_code(product_column) -%}
    (upper({{ product_column }}) not in (
        {%- for code in var('fee_product_codes') -%}
            '{{ code | upper | replace("'", "''") }}'{{ ", " if not loop.last }}
        {%- endfor -%}
    ))
{%- endmacro %}


{#- Name of the price band of var price_bands that holds the price; 'unknown' without a
    price.  The last band must be open-ended (max_price null) so every price has a band. -#}
{% macro price_band(price_column) -%}
    {%- set bands = var('price_bands') -%}
    {%- if bands | length == 0 or bands[-1].max_price is not none -%}
        {{ exceptions.raise_compiler_error("var price_bands must end with a band whose max_price is null") }}
    {%- endif -%}
    case
        when {{ price_column }} is null then 'unknown'
        {%- for band in bands[:-1] %}
        when {{ price_column }} <= {{ band.max_price | float }} then '{{ band.name }}'
        {%- endfor %}
        else '{{ bands[-1].name }}'
    end
{%- endmacro %}


{#- RFM score 1..n_tiles of var rfm from the customer's percentile: like ntile, but customers
    with equal values share a score (ntile would split ties arbitrarily between scores). -#}
{% macro rfm_score(order_by) -%}
    {%- set n = var('rfm').n_tiles | int -%}
    least({{ n }}, 1 + floor({{ n }} * percent_rank() over (order by {{ order_by }})))::integer
{%- endmacro %}

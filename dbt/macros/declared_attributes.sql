{#- The keys of a customer attributes object that var customer_attributes declares: the
    landing files may carry any column, and only those an analyst may see reach the marts. -#}
{% macro declared_attributes(column) -%}
    coalesce(
        (
            select jsonb_object_agg(attribute.key, attribute.value)
            from jsonb_each({{ column }}) as attribute
            where attribute.key = any(array[{%- for key in var('customer_attributes') -%}
                '{{ key }}'{{ ', ' if not loop.last }}
            {%- endfor -%}]::text[])
        ),
        '{}'::jsonb
    )
{%- endmacro %}
